package backbone

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"

	"strait/internal/model"
)

// transitConfig is what SetTransit was last given.
type transitConfig struct {
	namespace string
	source    netip.Addr            // this host's transit address
	routes    map[netip.Addr]string // transit address → host ID
}

// SetTransit joins this host's transit namespace (a name as `ip netns` shows
// it) to the other hosts' with a VXLAN of TransitVNI, and routes each transit
// address that lives on another host there: "<addr>/32 dev backbone" with a
// permanent neighbour entry giving that host's device MAC. routes must list
// every remote address a flow through this host's transit namespace meets:
// load balancer nodes' and the other hosts' own transit addresses (replies go
// back to them, and the transit namespace's strict reverse-path filter drops
// what it cannot route back).
//
// source is this host's own transit address (model.IsHostTransit): what
// leaves over the link is translated to it (the table TransitTable), so that
// replies come back to this host even where another host has a VPC with the
// same transit address; TCP handshakes leaving over it get their MSS clamped
// to the link's MTU. An invalid source leaves flows untranslated (and
// removes the table). An empty namespace removes the link.
func (b *Backbone) SetTransit(namespace string, source netip.Addr, routes map[netip.Addr]string) error {
	for a := range routes {
		if !a.Is4() || !model.TransitRange.Contains(a) || model.TransitFixed.Contains(a) && !model.IsHostTransit(a) {
			return fmt.Errorf("backbone: transit route to %s: not a node's, VPC's or host's transit address", a)
		}
	}
	if source.IsValid() && !model.IsHostTransit(source) {
		return fmt.Errorf("backbone: transit source %s: not a host's transit address (in %s)", source, model.TransitFixed)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("backbone: closed")
	}
	if b.transit != nil && b.transit.namespace != namespace {
		if err := removeTransit(b.transit.namespace); err != nil {
			return fmt.Errorf("backbone: transit: %w", err)
		}
		b.transit, b.natOK = nil, false
	}
	if namespace == "" {
		return nil
	}
	t := transitConfig{namespace: namespace, source: source, routes: maps.Clone(routes)}
	b.transit = &t
	return b.applyTransit(t)
}

// applyTransit brings the transit namespace's device and table to what t and
// the peers say.
func (b *Backbone) applyTransit(t transitConfig) error {
	want := newLinkState()
	var errs []error
	for addr, host := range t.routes {
		p, ok := b.peers[host]
		if !ok {
			errs = append(errs, fmt.Errorf("route to %s: host %s is not a peer", addr, host))
			continue
		}
		mac := deviceMAC(host, TransitVNI)
		want.routes[netip.PrefixFrom(addr, 32)] = netip.Addr{}
		want.neigh[addr] = mac
		want.fdb[mac.String()] = b.endpoint(p)
	}
	errs = append(errs, b.applyLink(t.namespace, TransitVNI, want))
	if !b.natOK || b.nat != t.source {
		err := setTransitTable(t.namespace, t.source)
		b.nat, b.natOK = t.source, err == nil
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("backbone: transit: %w", err)
	}
	return nil
}

// RemoveTransit removes the transit link's device and table from namespace,
// the host's transit namespace: also those an earlier run left (a restarted
// agent without peers finds them). Nothing there, or no namespace, is not an
// error.
func (b *Backbone) RemoveTransit(namespace string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.transit != nil && b.transit.namespace == namespace {
		b.transit, b.natOK = nil, false
	}
	if err := removeTransit(namespace); err != nil {
		return fmt.Errorf("backbone: transit: %w", err)
	}
	return nil
}

// removeTransit removes the transit namespace's device and table.
func removeTransit(namespace string) error {
	return errors.Join(removeBackboneLink(namespace), setTransitTable(namespace, netip.Addr{}))
}
