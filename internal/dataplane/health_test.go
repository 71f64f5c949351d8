package dataplane

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"strait/internal/model"
)

func fastCheck(healthy, unhealthy int) HealthCheck {
	// A live target must not fail a check for being slow on a loaded machine; a
	// dead one is refused at once, and TestHealthTimeout sets its own timeout.
	return HealthCheck{Enabled: true, Protocol: "TCP", Interval: 50 * time.Millisecond, Timeout: waitLong,
		HealthyThreshold: healthy, UnhealthyThreshold: unhealthy}
}

// initial → healthy after HealthyThreshold successes → unhealthy after
// UnhealthyThreshold failures → healthy again; the checks come from the load
// balancer's first node.
func TestHealthTransitions(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tt := startTarget(t, "a", "127.0.0.51", modeEcho)
	id := tt.asTarget("").ID
	cfg := oneLB(map[string]string{"us-east-1b": "127.0.0.22", "us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{tt.asTarget("us-east-1a")}, HealthCheck: fastCheck(3, 2)})
	r.p.Configure(cfg)
	r.reports.wait(t, id, "healthy")
	tt.kill()
	h := r.reports.wait(t, id, "unhealthy")
	if h.Reason != model.ReasonFailedHealthChecks || h.Since.IsZero() {
		t.Fatalf("unhealthy report %+v, want Target.FailedHealthChecks with Since", h)
	}
	tt.revive(t)
	r.reports.wait(t, id, "healthy")
	recs := r.reports.of(id)
	if got := r.reports.states(id); !slices.Equal(got, []string{"initial", "healthy", "unhealthy", "healthy"}) {
		t.Fatalf("states %v", got)
	}
	if first := recs[0]; first.health.Reason != model.ReasonRegistrationInProgress || first.group != testTG {
		t.Fatalf("first report %+v, want initial/Elb.RegistrationInProgress", first)
	}
	if n := r.net.dialsBefore(recs[1].health.Since); n != 3 {
		t.Errorf("healthy after %d checks, want 3 (HealthyThreshold)", n)
	}
	r.net.mu.Lock()
	for _, d := range r.net.dials {
		if d.from != netip.MustParseAddr("127.0.0.21") || d.vpc != testVPC || d.to != tt.addr {
			t.Errorf("health check dial %+v, want from the first node 127.0.0.21 in %s to %v", d, testVPC, tt.addr)
		}
	}
	r.net.mu.Unlock()

	// A reconfiguration with the same health check keeps the state.
	r.p.Configure(cfg)
	time.Sleep(150 * time.Millisecond)
	if got := r.reports.states(id); len(got) != 4 {
		t.Fatalf("reconfiguration changed states: %v", got)
	}
}

// A target that never answers goes from initial to unhealthy with Target.Timeout.
func TestHealthTimeout(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	hole := netip.MustParseAddrPort("127.0.0.52:9")
	r.net.setBlackhole(hole, true)
	hc := fastCheck(2, 2)
	hc.Timeout = 100 * time.Millisecond
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{{ID: "127.0.0.52", Addr: hole, AZ: "us-east-1a"}}, HealthCheck: hc}))
	h := r.reports.wait(t, "127.0.0.52", "unhealthy")
	if h.Reason != model.ReasonTimeout {
		t.Fatalf("reason %q, want %s", h.Reason, model.ReasonTimeout)
	}
	if got := r.reports.states("127.0.0.52"); !slices.Equal(got, []string{"initial", "unhealthy"}) {
		t.Fatalf("states %v", got)
	}
}

// The health check port overrides the traffic port.
func TestHealthCheckPort(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	traffic := freeAddr(t, "127.0.0.53") // nothing listens on the traffic port
	hcPort := startTarget(t, "hc", "127.0.0.53", modeEcho)
	hc := fastCheck(2, 2)
	hc.Port = hcPort.addr.Port()
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{{ID: "127.0.0.53", Addr: traffic, AZ: "us-east-1a"}}, HealthCheck: hc}))
	r.reports.wait(t, "127.0.0.53", "healthy")
}

// A group no load balancer uses is not checked; once one uses it, checks start.
// Disabled checks report unavailable and route.
func TestHealthUnusedAndDisabled(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tt := startTarget(t, "a", "127.0.0.54", modeGreet)
	id := tt.asTarget("").ID
	cfg := oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{tt.asTarget("us-east-1a")}, HealthCheck: fastCheck(2, 2)})
	unused := cfg
	unused.LoadBalancers = nil
	r.p.Configure(unused)
	time.Sleep(200 * time.Millisecond)
	if got := r.reports.of(id); len(got) != 0 || r.net.count() != 0 {
		t.Fatalf("unused target was checked: reports %v, %d dials", got, r.net.count())
	}
	r.p.Configure(cfg)
	r.reports.wait(t, id, "healthy")

	cfg.TargetGroups[0].HealthCheck.Enabled = false
	r.p.Configure(cfg)
	h := r.reports.wait(t, id, "unavailable")
	if h.Reason != model.ReasonHealthCheckDisabled {
		t.Fatalf("reason %q, want %s", h.Reason, model.ReasonHealthCheckDisabled)
	}
	before := r.net.count()
	time.Sleep(200 * time.Millisecond)
	if n := r.net.count(); n != before {
		t.Fatalf("%d health checks ran while disabled", n-before)
	}
	addr := r.serve(t, "127.0.0.1", Entry{AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
	if name, _ := greeting(t, addr); name != "a" {
		t.Fatalf("reached %q", name)
	}
}

// HTTP and HTTPS checks match the status code against the matcher.
func TestHealthHTTP(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("User-Agent") != "ELB-HealthChecker/2.0" {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		switch req.URL.Path {
		case "/accepted":
			w.WriteHeader(http.StatusAccepted)
		case "/":
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	plain := listenHTTP(t, "127.0.0.55", handler, false)
	secure := listenHTTP(t, "127.0.0.56", handler, true)

	group := func(arn, proto, path, matcher string, a netip.AddrPort) TargetGroup {
		hc := fastCheck(2, 2)
		hc.Protocol, hc.Path, hc.Matcher = proto, path, matcher
		return TargetGroup{ARN: arn, VpcID: testVPC, HealthCheck: hc, Targets: []Target{{ID: arn, Addr: a, AZ: "us-east-1a"}}}
	}
	groups := []TargetGroup{
		group("ok", "HTTP", "/accepted", "200,202", plain),
		group("mismatch", "HTTP", "/missing", "200-399", plain),
		group("tls", "HTTPS", "/", "", secure),
		group("wrong-code", "HTTP", "/accepted", "200", plain),
	}
	lb := LoadBalancer{ARN: testLB, VpcID: testVPC, Nodes: []Node{{AZ: "us-east-1a", IP: netip.MustParseAddr("127.0.0.21")}}}
	for i, g := range groups {
		lb.Listeners = append(lb.Listeners, Listener{Port: uint16(80 + i), TargetGroup: g.ARN})
	}
	r.p.Configure(Config{LoadBalancers: []LoadBalancer{lb}, TargetGroups: groups})
	r.reports.wait(t, "ok", "healthy")
	r.reports.wait(t, "tls", "healthy")
	for _, id := range []string{"mismatch", "wrong-code"} {
		h := r.reports.wait(t, id, "unhealthy")
		if h.Reason != model.ReasonResponseCodeMismatch || !strings.Contains(h.Description, "[") {
			t.Fatalf("%s: %+v, want Target.ResponseCodeMismatch with the codes", id, h)
		}
	}
	if h := r.reports.wait(t, "mismatch", "unhealthy"); !strings.Contains(h.Description, "404") {
		t.Fatalf("description %q should name 404", h.Description)
	}
}

func listenHTTP(t *testing.T, ip string, h http.Handler, tls bool) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // checks cancelled mid-handshake are expected
	s.Listener.Close()
	s.Listener = ln
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return addrPort(ln.Addr())
}

func TestMatchStatus(t *testing.T) {
	for _, c := range []struct {
		matcher string
		code    int
		want    bool
	}{
		{"200", 200, true}, {"200", 201, false}, {"200,202", 202, true}, {"200,202", 201, false},
		{"200-399", 399, true}, {"200-399", 400, false}, {"200-299, 404", 404, true}, {"", 200, false}, {"x", 200, false},
	} {
		if got := matchStatus(c.matcher, c.code); got != c.want {
			t.Errorf("matchStatus(%q, %d) = %v, want %v", c.matcher, c.code, got, c.want)
		}
	}
}
