package dataplane

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Stats is the traffic of an endpoint or an endpoint service since the data plane
// started (the AWS/PrivateLinkEndpoints and AWS/PrivateLinkServices metrics).
// BytesIn flows from clients to targets, BytesOut from targets to clients.
type Stats struct {
	ActiveConnections int64  // connections being relayed now
	NewConnections    uint64 // connections relayed to a target (established)
	BytesIn           uint64 // client → target
	BytesOut          uint64 // target → client
	Rejected          uint64 // connections closed without a target: no route, or every dial failed
}

// counters are the live counters of one endpoint or service. Relays add to them
// as bytes move, so metrics are current during long transfers.
type counters struct {
	active   atomic.Int64
	newConns atomic.Uint64
	bytesIn  atomic.Uint64
	bytesOut atomic.Uint64
	rejected atomic.Uint64
}

func (c *counters) stats() Stats {
	if c == nil {
		return Stats{}
	}
	return Stats{
		ActiveConnections: c.active.Load(),
		NewConnections:    c.newConns.Load(),
		BytesIn:           c.bytesIn.Load(),
		BytesOut:          c.bytesOut.Load(),
		Rejected:          c.rejected.Load(),
	}
}

// endpointCounters are an endpoint's counters with the service it belongs to.
type endpointCounters struct {
	counters
	serviceID string
	// kernel is the traffic of the endpoint's translated flows (SetTranslated),
	// guarded by statsTable.mu.
	kernel Stats
}

// total is the relayed and the translated traffic. The caller holds
// statsTable.mu.
func (c *endpointCounters) total() Stats { return c.stats().plus(c.kernel) }

func (s Stats) plus(o Stats) Stats {
	return Stats{
		ActiveConnections: s.ActiveConnections + o.ActiveConnections,
		NewConnections:    s.NewConnections + o.NewConnections,
		BytesIn:           s.BytesIn + o.BytesIn,
		BytesOut:          s.BytesOut + o.BytesOut,
		Rejected:          s.Rejected + o.Rejected,
	}
}

// SetTranslated records the traffic of endpoint id's flows that the kernel
// translates (counted outside the relay, since this process started); its
// stats and metrics, and its service's, include it from then on.
func (p *Proxy) SetTranslated(id, serviceID string, s Stats) {
	c := p.stats.endpoint(id, serviceID)
	p.stats.mu.Lock()
	c.kernel = s
	p.stats.mu.Unlock()
}

// serviceKernel sums the translated traffic of each service's endpoints. The
// caller holds statsTable.mu.
func (t *statsTable) serviceKernel() map[string]Stats {
	out := map[string]Stats{}
	for _, ec := range t.endpoints {
		if ec.kernel != (Stats{}) {
			out[ec.serviceID] = out[ec.serviceID].plus(ec.kernel)
		}
	}
	return out
}

// statsTable holds the counters per endpoint and per service.
type statsTable struct {
	mu        sync.RWMutex
	endpoints map[string]*endpointCounters
	services  map[string]*counters
}

// endpoint returns the counters of endpoint id, creating them.
func (t *statsTable) endpoint(id, serviceID string) *endpointCounters {
	t.mu.RLock()
	c := t.endpoints[id]
	t.mu.RUnlock()
	if c != nil {
		return c
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c = t.endpoints[id]; c == nil {
		c = &endpointCounters{serviceID: serviceID}
		t.endpoints[id] = c
	}
	return c
}

// service returns the counters of service id, creating them.
func (t *statsTable) service(id string) *counters {
	t.mu.RLock()
	c := t.services[id]
	t.mu.RUnlock()
	if c != nil {
		return c
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c = t.services[id]; c == nil {
		c = &counters{}
		t.services[id] = c
	}
	return c
}

// EndpointStats returns the traffic through endpoint id (zero when it has had none
// or was forgotten).
func (p *Proxy) EndpointStats(id string) Stats {
	p.stats.mu.RLock()
	defer p.stats.mu.RUnlock()
	if c := p.stats.endpoints[id]; c != nil {
		return c.total()
	}
	return Stats{}
}

// ServiceStats returns the traffic to endpoint service id: through its endpoints
// and directly to its load balancers' nodes.
func (p *Proxy) ServiceStats(id string) Stats {
	p.stats.mu.RLock()
	defer p.stats.mu.RUnlock()
	return p.stats.services[id].stats().plus(p.stats.serviceKernel()[id])
}

// ForgetEndpoint drops the counters and metric series of endpoint id; the agent
// calls it when the endpoint is deleted. Connections still open keep counting
// into the dropped counters.
func (p *Proxy) ForgetEndpoint(id string) {
	p.stats.mu.Lock()
	defer p.stats.mu.Unlock()
	delete(p.stats.endpoints, id)
}

// ForgetService drops the counters and metric series of service id.
func (p *Proxy) ForgetService(id string) {
	p.stats.mu.Lock()
	defer p.stats.mu.Unlock()
	delete(p.stats.services, id)
}

// Metric descriptions, named after the CloudWatch metrics of the namespaces
// AWS/PrivateLinkEndpoints, AWS/PrivateLinkServices and AWS/NetworkELB.
var (
	descEndpointActive   = prometheus.NewDesc("strait_privatelink_endpoint_active_connections", "Connections being relayed through the endpoint (ActiveConnections).", []string{"vpc_endpoint_id", "service_id"}, nil)
	descEndpointNew      = prometheus.NewDesc("strait_privatelink_endpoint_new_connections_total", "Connections established through the endpoint (NewConnections).", []string{"vpc_endpoint_id", "service_id"}, nil)
	descEndpointBytes    = prometheus.NewDesc("strait_privatelink_endpoint_bytes_processed_total", "Bytes relayed through the endpoint; in: client to target, out: target to client (BytesProcessed).", []string{"vpc_endpoint_id", "service_id", "direction"}, nil)
	descEndpointRejected = prometheus.NewDesc("strait_privatelink_endpoint_rejected_connections_total", "Connections through the endpoint closed without reaching a target.", []string{"vpc_endpoint_id", "service_id"}, nil)
	descServiceActive    = prometheus.NewDesc("strait_privatelink_service_active_connections", "Connections being relayed to the endpoint service (ActiveConnections).", []string{"service_id"}, nil)
	descServiceNew       = prometheus.NewDesc("strait_privatelink_service_new_connections_total", "Connections established to the endpoint service (NewConnections).", []string{"service_id"}, nil)
	descServiceBytes     = prometheus.NewDesc("strait_privatelink_service_bytes_processed_total", "Bytes relayed to and from the endpoint service; in: client to target, out: target to client (BytesProcessed).", []string{"service_id", "direction"}, nil)
	descServiceRejected  = prometheus.NewDesc("strait_privatelink_service_rejected_connections_total", "Connections to the endpoint service closed without reaching a target.", []string{"service_id"}, nil)
	descTargetHealth     = prometheus.NewDesc("strait_target_health", "1 for the current health state of a target (initial, healthy, unhealthy, unavailable, unused, draining).", []string{"target_group", "target", "state"}, nil)
	descHealthyHosts     = prometheus.NewDesc("strait_target_group_healthy_host_count", "Targets of the group that receive new connections as healthy (HealthyHostCount).", []string{"target_group"}, nil)
	descRefused          = prometheus.NewDesc("strait_dataplane_refused_connections_total", "Connections reset right after accept because the data plane's share of the process's descriptors was spent (they also count as rejected for their endpoint and service).", nil, nil)
	descBadHeaders       = prometheus.NewDesc("strait_dataplane_transit_rejected_connections_total", "Connections from the transit link closed because they did not open with a valid PROXY v2 header of another host's relay.", nil, nil)
	descUnhealthyHosts   = prometheus.NewDesc("strait_target_group_unhealthy_host_count", "Targets of the group that failed their health checks (UnHealthyHostCount).", []string{"target_group"}, nil)
)

// collector exports the proxy's counters and target health to Prometheus. It
// reads the counters at scrape time, so the relay's hot path only does atomic
// adds, and a forgotten endpoint's series disappear with its counters.
type collector struct{ p *Proxy }

// Describe implements prometheus.Collector.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descEndpointActive, descEndpointNew, descEndpointBytes, descEndpointRejected,
		descServiceActive, descServiceNew, descServiceBytes, descServiceRejected,
		descTargetHealth, descHealthyHosts, descUnhealthyHosts, descRefused, descBadHeaders} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	if fn := c.p.onCollect.Load(); fn != nil {
		(*fn)()
	}
	ch <- prometheus.MustNewConstMetric(descRefused, counter, float64(c.p.refused.total.Load()))
	ch <- prometheus.MustNewConstMetric(descBadHeaders, counter, float64(c.p.badHeaders.total.Load()))
	st := &c.p.stats
	st.mu.RLock()
	for id, ec := range st.endpoints {
		s := ec.total()
		ch <- prometheus.MustNewConstMetric(descEndpointActive, gauge, float64(s.ActiveConnections), id, ec.serviceID)
		ch <- prometheus.MustNewConstMetric(descEndpointNew, counter, float64(s.NewConnections), id, ec.serviceID)
		ch <- prometheus.MustNewConstMetric(descEndpointBytes, counter, float64(s.BytesIn), id, ec.serviceID, "in")
		ch <- prometheus.MustNewConstMetric(descEndpointBytes, counter, float64(s.BytesOut), id, ec.serviceID, "out")
		ch <- prometheus.MustNewConstMetric(descEndpointRejected, counter, float64(s.Rejected), id, ec.serviceID)
	}
	kernel := st.serviceKernel()
	services := map[string]Stats{}
	for id, sc := range st.services {
		services[id] = sc.stats()
	}
	for id, k := range kernel {
		services[id] = services[id].plus(k)
	}
	for id, s := range services {
		ch <- prometheus.MustNewConstMetric(descServiceActive, gauge, float64(s.ActiveConnections), id)
		ch <- prometheus.MustNewConstMetric(descServiceNew, counter, float64(s.NewConnections), id)
		ch <- prometheus.MustNewConstMetric(descServiceBytes, counter, float64(s.BytesIn), id, "in")
		ch <- prometheus.MustNewConstMetric(descServiceBytes, counter, float64(s.BytesOut), id, "out")
		ch <- prometheus.MustNewConstMetric(descServiceRejected, counter, float64(s.Rejected), id)
	}
	st.mu.RUnlock()

	t := c.p.table.Load()
	if t == nil {
		return
	}
	for _, g := range t.groups {
		healthy, unhealthy := 0, 0
		for _, ref := range g.list {
			state := ref.state.code.Load().String()
			if ref.Draining {
				state = "draining"
			} else if ref.state.code.Load().routable() {
				healthy++
			} else if ref.state.code.Load() == healthUnhealthy {
				unhealthy++
			}
			ch <- prometheus.MustNewConstMetric(descTargetHealth, gauge, 1, g.arn, ref.label, state)
		}
		ch <- prometheus.MustNewConstMetric(descHealthyHosts, gauge, float64(healthy), g.arn)
		ch <- prometheus.MustNewConstMetric(descUnhealthyHosts, gauge, float64(unhealthy), g.arn)
	}
}

// RelayedStats returns every counted endpoint's relayed traffic, without what
// SetTranslated added: what a new client of a relay process that outlived the
// old one must not count again.
func (p *Proxy) RelayedStats() map[string]Stats {
	p.stats.mu.RLock()
	defer p.stats.mu.RUnlock()
	out := make(map[string]Stats, len(p.stats.endpoints))
	for id, c := range p.stats.endpoints {
		out[id] = c.stats()
	}
	return out
}

// Counted returns the endpoints and services the proxy keeps counters of.
func (p *Proxy) Counted() (endpoints, services []string) {
	p.stats.mu.RLock()
	defer p.stats.mu.RUnlock()
	for id := range p.stats.endpoints {
		endpoints = append(endpoints, id)
	}
	for id := range p.stats.services {
		services = append(services, id)
	}
	return endpoints, services
}
