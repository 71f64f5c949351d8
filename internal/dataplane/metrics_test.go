package dataplane

import (
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// metricValue returns the value of the series of name whose labels include want.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue series
				}
			}
			// One of the two is set; the getters of the other return 0.
			return m.GetCounter().GetValue() + m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func TestMetricsAndStats(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tt := startTarget(t, "a", "127.0.0.71", modeEcho)
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{tt.asTarget("us-east-1a")}, HealthCheck: fastCheck(2, 2)}))
	r.reports.wait(t, tt.asTarget("").ID, "healthy")
	const svc = "vpce-svc-0123456789abcdef0" // the load balancer's service
	ep := Entry{EndpointID: "vpce-m", ServiceID: svc, AZ: "us-east-1a", LoadBalancer: testLB, Port: 80}
	viaEndpoint := r.serve(t, "127.0.0.1", ep)
	direct := r.serve(t, "127.0.0.1", Entry{AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
	badPort := ep
	badPort.Port = 9999
	rejecting := r.serve(t, "127.0.0.1", badPort)

	// Live counters while a connection is open.
	c1 := dialFrom(t, "127.0.0.1", viaEndpoint)
	if err := echoOnce(c1, strings.Repeat("x", 1000)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bytes to be counted", func() bool { st := r.p.EndpointStats("vpce-m"); return st.BytesIn == 1000 && st.BytesOut == 1000 })
	if st := r.p.EndpointStats("vpce-m"); st != (Stats{ActiveConnections: 1, NewConnections: 1, BytesIn: 1000, BytesOut: 1000}) {
		t.Fatalf("live stats %+v", st)
	}
	if v, _ := metricValue(t, r.reg, "strait_privatelink_endpoint_active_connections", map[string]string{"vpc_endpoint_id": "vpce-m", "service_id": svc}); v != 1 {
		t.Fatalf("active gauge %v, want 1", v)
	}

	c2 := dialFrom(t, "127.0.0.1", viaEndpoint)
	if err := echoOnce(c2, "hello"); err != nil {
		t.Fatal(err)
	}
	c3 := dialFrom(t, "127.0.0.1", direct)
	if err := echoOnce(c3, "direct"); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, dialFrom(t, "127.0.0.1", rejecting))
	for _, c := range []io.Closer{c1, c2, c3} {
		c.Close()
	}
	eventually(t, "connections to end", func() bool { return r.p.ServiceStats(svc).ActiveConnections == 0 })

	wantEP := Stats{NewConnections: 2, BytesIn: 1005, BytesOut: 1005, Rejected: 1}
	if st := r.p.EndpointStats("vpce-m"); st != wantEP {
		t.Fatalf("endpoint stats %+v, want %+v", st, wantEP)
	}
	wantSvc := Stats{NewConnections: 3, BytesIn: 1011, BytesOut: 1011, Rejected: 1}
	if st := r.p.ServiceStats(svc); st != wantSvc {
		t.Fatalf("service stats %+v, want %+v", st, wantSvc)
	}

	epLabels := map[string]string{"vpc_endpoint_id": "vpce-m", "service_id": svc}
	for name, want := range map[string]float64{
		"strait_privatelink_endpoint_new_connections_total":      2,
		"strait_privatelink_endpoint_rejected_connections_total": 1,
		"strait_privatelink_endpoint_active_connections":         0,
	} {
		if v, ok := metricValue(t, r.reg, name, epLabels); !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	for dir, want := range map[string]float64{"in": 1005, "out": 1005} {
		if v, _ := metricValue(t, r.reg, "strait_privatelink_endpoint_bytes_processed_total", map[string]string{"vpc_endpoint_id": "vpce-m", "direction": dir}); v != want {
			t.Errorf("endpoint bytes %s = %v, want %v", dir, v, want)
		}
		if v, _ := metricValue(t, r.reg, "strait_privatelink_service_bytes_processed_total", map[string]string{"service_id": svc, "direction": dir}); v != want+6 {
			t.Errorf("service bytes %s = %v, want %v", dir, v, want+6)
		}
	}
	if v, _ := metricValue(t, r.reg, "strait_privatelink_service_new_connections_total", map[string]string{"service_id": svc}); v != 3 {
		t.Errorf("service new connections %v, want 3", v)
	}
	if v, ok := metricValue(t, r.reg, "strait_target_health", map[string]string{"target_group": testTG, "target": tt.asTarget("").ID + ":" + strconv.Itoa(int(tt.addr.Port())), "state": "healthy"}); !ok || v != 1 {
		t.Errorf("strait_target_health healthy = %v (present %v)", v, ok)
	}
	if v, _ := metricValue(t, r.reg, "strait_target_group_healthy_host_count", map[string]string{"target_group": testTG}); v != 1 {
		t.Errorf("healthy host count %v, want 1", v)
	}

	r.p.ForgetEndpoint("vpce-m")
	if _, ok := metricValue(t, r.reg, "strait_privatelink_endpoint_new_connections_total", epLabels); ok {
		t.Error("forgotten endpoint still exported")
	}
	if st := r.p.EndpointStats("vpce-m"); st != (Stats{}) {
		t.Errorf("forgotten endpoint stats %+v", st)
	}
}
