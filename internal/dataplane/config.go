// Package dataplane carries an endpoint's traffic: it accepts connections on the
// listeners the agent opens (endpoint ENIs in consumer VPCs, load balancer nodes in
// provider VPCs), picks the load balancer node of the connection's zone and a
// healthy target by flow hash, dials the target from the node's address, optionally
// writes a PROXY v2 header, and copies bytes both ways with splice. It also runs
// the target groups' health checks, drains deregistered targets and counts
// per-endpoint and per-service traffic.
//
// The package knows nothing about namespaces or the store: the agent gives it a
// Dialer that dials inside the provider VPC and a HealthReport that records
// target health.
package dataplane

import (
	"net/netip"
	"time"

	"strait/internal/model"
)

// Config is the whole routing configuration. Configure replaces the previous one;
// listeners and established connections survive a reconfiguration.
type Config struct {
	LoadBalancers []LoadBalancer
	TargetGroups  []TargetGroup
}

// LoadBalancer is a network load balancer: a node in each of its zones and the
// listeners that forward to target groups.
type LoadBalancer struct {
	ARN   string
	VpcID string
	// ServiceID is the endpoint service that publishes the load balancer ("" when
	// none); per-service metrics are labelled with it.
	ServiceID string
	Nodes     []Node
	// CrossZone lets a node pick targets in every zone (load_balancing.cross_zone.enabled).
	CrossZone bool
	Listeners []Listener
}

// Node is a load balancer's ENI in one zone: the address it dials targets from.
type Node struct {
	AZ string
	IP netip.Addr
}

// Listener forwards a port of the load balancer to a target group.
type Listener struct {
	Port        uint16
	TargetGroup string // ARN
	// IdleTimeout closes a connection with no bytes either way for this long
	// (tcp.idle_timeout.seconds, default 350 s).
	IdleTimeout time.Duration
}

// Idle is the listener's idle timeout: IdleTimeout, or DefaultIdleTimeout
// when it sets none.
func (l Listener) Idle() time.Duration {
	if l.IdleTimeout > 0 {
		return l.IdleTimeout
	}
	return DefaultIdleTimeout
}

// TargetGroup is a set of targets with one health check.
type TargetGroup struct {
	ARN             string
	VpcID           string
	Targets         []Target
	HealthCheck     HealthCheck
	ProxyProtocolV2 bool // proxy_protocol_v2.enabled
	// Relay asks for the user-space relay for the group's listeners
	// (model.RelayAttribute) instead of translation in the kernel.
	Relay bool
}

// Target is one registered target. AZ is its zone, or "all" for an address
// outside the VPC (reachable from every zone).
type Target struct {
	ID   string // IP address or instance ID, as registered
	Addr netip.AddrPort
	AZ   string
	// Draining targets get no new connections; their established ones stay open
	// until the target disappears from the configuration, which closes them.
	Draining bool
}

// HealthCheck is a target group's health check, as the NLB runs it.
type HealthCheck struct {
	Enabled  bool
	Protocol string // TCP, HTTP or HTTPS
	// Port is the port checked; 0 means the target's traffic port.
	Port               uint16
	Path               string // HTTP(S)
	Matcher            string // HTTP(S) success codes, e.g. "200-399"
	Interval           time.Duration
	Timeout            time.Duration
	HealthyThreshold   int
	UnhealthyThreshold int
}

// Entry says where a connection arrived: at an endpoint's ENI in a consumer VPC
// (EndpointID set) or directly at a load balancer node in the provider VPC.
type Entry struct {
	EndpointID   string
	ServiceID    string // the endpoint's service, for metrics
	AZ           string // the zone of the ENI or node that accepted the connection
	LoadBalancer string // ARN
	Port         uint16 // the listener port
	// Remote, when set, sends an endpoint ENI's connections to its load
	// balancer's node on another host instead of a node of this proxy's
	// configuration (which does not have the load balancer): see Remote.
	Remote Remote
	// Transit marks a load balancer node's listener on its transit address,
	// which only connections from the transit link reach (the relay of
	// another host, see Remote): each opens with that relay's PROXY v2
	// header, which says the consumer's client, the endpoint ENI and the
	// endpoint ID, and the connection is routed as if it had arrived at that
	// ENI. A connection without a valid header is closed. Such connections
	// count no traffic here: the endpoint's host counts them.
	Transit bool
}

// Remote is where the relay sends an endpoint ENI's connections when its
// load balancer has no node on this host: the node's transit address on
// another host, reached from the consumer VPC's namespace across the transit
// link and the backbone. Each connection opens with a PROXY v2 header of the
// relay's own (the client, the ENI, the endpoint ID), which the node's relay
// reads (Entry.Transit) and routes by, as this host would have.
type Remote struct {
	VPC  string         // the consumer VPC, whose namespace dials
	Node netip.AddrPort // the node's transit address, the listener port
	Idle time.Duration  // the listener's idle timeout
}

// IsSet reports whether r names a node.
func (r Remote) IsSet() bool { return r.Node.IsValid() }

// Dialer starts a TCP connection to a target from a load balancer node's
// address, inside the network of VPC vpcID, without waiting for the handshake
// (StartConnect), and returns its socket: non-blocking and close-on-exec,
// owned by the caller and not in Go's poller (the relay waits for it in its
// own reactors). done reports whether the handshake is over; if not, the
// proxy waits for it with AwaitConnect. A Dialer must not block: the proxy
// calls it on the goroutine that accepts connections.
type Dialer func(vpcID string, from netip.Addr, to netip.AddrPort) (fd int, done bool, err error)

// HealthReport records a target's new health state; the data plane calls it when
// a target's state changes (and once when a target is first seen).
type HealthReport func(targetGroupARN string, t Target, h model.TargetHealth)
