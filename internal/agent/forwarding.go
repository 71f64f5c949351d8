package agent

import "fmt"

// Forwarding says how the agent carries endpoint traffic.
type Forwarding int

const (
	// ForwardKernel translates the connections of listeners whose target group
	// needs no relay (no PROXY v2, no model.RelayAttribute) in the kernel; the
	// others go through the relay.
	ForwardKernel Forwarding = iota
	// ForwardRelay sends every listener's connections through the relay.
	ForwardRelay
)

// ParseForwarding parses the server's --forwarding flag: "kernel" or "relay".
func ParseForwarding(s string) (Forwarding, error) {
	switch s {
	case "kernel":
		return ForwardKernel, nil
	case "relay":
		return ForwardRelay, nil
	}
	return 0, fmt.Errorf("forwarding %q: want kernel or relay", s)
}

func (f Forwarding) String() string {
	if f == ForwardRelay {
		return "relay"
	}
	return "kernel"
}

// Option configures an Agent.
type Option func(*Agent)

// WithForwarding sets how endpoint traffic is carried (default ForwardKernel).
func WithForwarding(f Forwarding) Option { return func(a *Agent) { a.forwarding = f } }

// WithBackbone links the host's VPC namespaces to the other hosts' over b
// (default: none; remote subnets are then not routed).
func WithBackbone(b Backbone) Option { return func(a *Agent) { a.bb = b } }
