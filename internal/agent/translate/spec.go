package translate

import (
	"net/netip"
	"time"
)

// Namespace is what one VPC namespace translates: the desired state Apply
// realizes. A VPC with nothing to translate is left out.
type Namespace struct {
	VPC     string
	Entries []Entry
	Exits   []Exit
	// Counted holds the endpoint ENI addresses whose flows are counted (every
	// address of Entries, usually).
	Counted []netip.Addr
	// Relayed holds the endpoint ENI:ports and node transit address:ports whose
	// new connections the relay carries now: when one stops being an entry or
	// an exit, its translated flows finish where they are instead of being cut.
	Relayed []netip.AddrPort
}

// Entry translates connections to an endpoint ENI's listener port to a load
// balancer node's transit address and port.
type Entry struct {
	ENI  netip.AddrPort
	Node netip.AddrPort // the node's transit address, the listener port
	Idle time.Duration  // the listener's idle timeout
}

// Exit translates connections that arrive from the transit link at a node's
// transit address and listener port to one of the node's eligible targets,
// from the node's ENI address.
type Exit struct {
	Node   netip.AddrPort // the node's transit address, the listener port
	Source netip.Addr     // the node's ENI address
	// Targets are the targets new flows are spread over (healthy ones, or all
	// candidates when none is healthy); empty: new flows are reset.
	Targets []netip.AddrPort
	// Registered holds every target whose established flows may go on (the
	// eligible ones and the draining ones): flows to a target that leaves it
	// are cut.
	Registered []netip.AddrPort
	Idle       time.Duration
}

// Slots is the number of hash slots of an exit: a new flow's source address
// and port pick a slot, and each slot holds one of the exit's targets.
const Slots = 64

// slotTargets spreads targets over the slots, in order: slot i holds target
// i mod len(targets).
func slotTargets(targets []netip.AddrPort) []netip.AddrPort {
	if len(targets) == 0 {
		return nil
	}
	out := make([]netip.AddrPort, Slots)
	for i := range out {
		out[i] = targets[i%len(targets)]
	}
	return out
}
