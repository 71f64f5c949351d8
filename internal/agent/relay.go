package agent

import (
	"net/netip"

	"strait/internal/dataplane"
)

// Relay is the data plane's user-space side as the agent drives it: a
// dataplane.Proxy with the listeners it accepts from, and the VPC resolvers.
// It runs in this process (relay.Local) or in a relay process of its own
// (relay.Client), which a restart of this one does not end: its listeners,
// relayed connections and resolvers outlive the agent, and a new agent adopts
// them (Listening; SetResolver on a running resolver only sets its names).
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
	// ForgetVPC closes the listeners and the resolver in vpc and the sockets
	// the relay keeps in its namespace, which is about to be removed.
	ForgetVPC(vpc string)
	// Listening is every open listener: those a previous agent left in a
	// relay process too.
	Listening() []Listening
	// Eligible, Node, OnHealthChange, OnCollect, ForgetEndpoint and
	// ForgetService are dataplane.Proxy's; EndpointStats and SetTranslated
	// are its methods of the same names for many endpoints in one call.
	Eligible(lb, nodeAZ string, port uint16) []netip.AddrPort
	Node(lb, az string) (dataplane.Node, bool)
	OnHealthChange(func())
	OnCollect(func())
	EndpointStats(ids []string) map[string]dataplane.Stats
	SetTranslated(per map[string]Translated)
	ForgetEndpoint(id string)
	ForgetService(id string)
	// Counted is the endpoints and services the relay counts traffic of,
	// those a previous agent left in a relay process too (the first Apply
	// forgets the ones its state does not have).
	Counted() (endpoints, services []string)
	// SetResolver runs the DNS resolver of VPC vpc on addr (UDP and TCP,
	// opened inside its namespace the first time) and makes records its
	// names.
	SetResolver(vpc string, addr netip.AddrPort, records map[string][]netip.Addr) error
	// Generation names the relay process (relay.Client) that carries the
	// relay now; it changes when another replaced one that died, and the
	// agent then gives the new one its resolvers and routing again (the
	// client gives it its listeners). Constant for relay.Local.
	Generation() string
	// Close ends what this process holds of the relay: with relay.Local
	// every listener, connection and resolver, with relay.Client only the
	// link to the relay process, which carries on.
	Close()
}

// Translated is an endpoint's traffic on the kernel path (Relay.SetTranslated).
type Translated struct {
	ServiceID string
	Stats     dataplane.Stats
}

// Listening is an open listener of a Relay: an address in a VPC and where its
// connections go.
type Listening struct {
	VPC   string
	Addr  netip.AddrPort
	Entry dataplane.Entry
}
