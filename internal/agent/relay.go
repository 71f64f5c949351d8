package agent

import (
	"net"
	"net/netip"

	"strait/internal/dataplane"
)

// Relay is the data plane's user-space side as the agent drives it: a
// dataplane.Proxy with the listeners it accepts from. It runs in this process
// (relay.Local) or in a relay process of its own (relay.Client), which a
// restart of this one does not end: its listeners and relayed connections
// outlive the agent, and a new agent adopts them (Listening).
type Relay interface {
	// Configure replaces the routing (dataplane.Proxy.Configure).
	Configure(dataplane.Config)
	// Listen opens a listener on each of addrs inside the namespace of VPC
	// vpc and serves it with entries[i]; errs[i] says why addrs[i] was not
	// opened, err why none was.
	Listen(vpc string, addrs []netip.AddrPort, entries []dataplane.Entry) (errs []error, err error)
	// Unlisten closes the listener on addr in vpc (if open); its established
	// connections carry on.
	Unlisten(vpc string, addr netip.AddrPort)
	// ForgetVPC closes the listeners in vpc and the sockets the relay keeps
	// in its namespace, which is about to be removed.
	ForgetVPC(vpc string)
	// Listening is every open listener: those a previous agent left in a
	// relay process too.
	Listening() []Listening
	// Eligible, Node, OnHealthChange, OnCollect, EndpointStats, SetTranslated,
	// ForgetEndpoint and ForgetService are dataplane.Proxy's.
	Eligible(lb, nodeAZ string, port uint16) []netip.AddrPort
	Node(lb, az string) (dataplane.Node, bool)
	OnHealthChange(func())
	OnCollect(func())
	EndpointStats(id string) dataplane.Stats
	SetTranslated(id, serviceID string, s dataplane.Stats)
	ForgetEndpoint(id string)
	ForgetService(id string)
	// LimitListener makes each connection ln accepts take a descriptor of
	// the data plane's share in this process (the VPC resolvers').
	LimitListener(ln net.Listener) net.Listener
	// Close ends what this process holds of the relay: with relay.Local
	// every listener and connection, with relay.Client only the link to the
	// relay process, which carries on.
	Close()
}

// Listening is an open listener of a Relay: an address in a VPC and where its
// connections go.
type Listening struct {
	VPC   string
	Addr  netip.AddrPort
	Entry dataplane.Entry
}
