package agent

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"strait/internal/agent/backbone"
	"strait/internal/model"
)

// Backbone links this host's VPC namespaces to other hosts'
// (*backbone.Backbone implements it).
type Backbone interface {
	SetPeers(peers []backbone.Peer) error
	SetVPC(vpcID string, vni uint32, namespace string, remote map[netip.Prefix]string) error
	// RemoveVPC removes the VPC's device from its namespace, also one an
	// earlier run left.
	RemoveVPC(vpcID, namespace string) error
	SetTransit(namespace string, source netip.Addr, routes map[netip.Addr]string) error
	// RemoveTransit removes the transit link from the transit namespace, also
	// one an earlier run left.
	RemoveTransit(namespace string) error
	// Close stops carrying traffic (Agent.Close calls it).
	Close() error
}

// backboneState is what the agent last gave its backbone successfully.
type backboneState struct {
	peers   []backbone.Peer                    // nil also before the first SetPeers
	peersOK bool                               // SetPeers(peers) succeeded
	vpcs    map[string]map[netip.Prefix]string // VPC → remote subnets SetVPC took (nil: it failed)
	skipped map[string]bool                    // "VPC subnet host" of remote subnets not routed, logged once
	// swept holds the VPCs without remote subnets whose namespace was
	// cleared of a device an earlier run may have left (once per VPC).
	swept   map[string]bool
	transit transitState // what SetTransit last took
	// transitSwept tells that the transit namespace was cleared of a link an
	// earlier run may have left (once, when this run has none to make).
	transitSwept bool
}

// transitState is what SetTransit was last given.
type transitState struct {
	namespace string
	source    netip.Addr
	routes    map[netip.Addr]string
	ok        bool // it succeeded
}

// applyBackboneTransit joins the transit namespace to the peers' when this
// host has linked VPCs and peers: it routes the peers' own transit addresses
// and the other hosts' nodes (of peers) across the backbone, and translates
// what leaves there to this host's transit address (backbone.SetTransit).
// Otherwise the link goes. Only a change is given again; a failure fails the
// endpoints whose entries reach other hosts' nodes (retried next Apply).
func (a *Agent) applyBackboneTransit(st State, p kernelPlan) (failed map[string]bool, err error) {
	if a.bb == nil {
		return nil, nil
	}
	want := transitState{routes: map[netip.Addr]string{}}
	if len(a.links) > 0 && len(st.Peers) > 0 {
		want.namespace, want.source = a.host.TransitNamespace(), st.HostTransit
		peers := peerIDs(st)
		for _, pr := range st.Peers {
			if model.IsHostTransit(pr.Transit) {
				want.routes[pr.Transit] = pr.HostID
			}
		}
		for addr, h := range st.RemoteNodes {
			if peers[h] {
				want.routes[addr] = h
			}
		}
	}
	have := a.bbState.transit
	if want.namespace == "" && have.namespace == "" && !a.bbState.transitSwept {
		if err := a.bb.RemoveTransit(a.host.TransitNamespace()); err != nil {
			return nil, fmt.Errorf("removing a backbone transit link left before: %w", err)
		}
		a.bbState.transitSwept = true
	}
	if have.ok && have.namespace == want.namespace && have.source == want.source && maps.Equal(have.routes, want.routes) {
		return nil, nil
	}
	err = a.bb.SetTransit(want.namespace, want.source, want.routes)
	want.ok = err == nil
	a.bbState.transit = want
	if err == nil {
		return nil, nil
	}
	failed = map[string]bool{}
	for id := range p.remote {
		failed[id] = true
	}
	return failed, fmt.Errorf("backbone transit link: %w", err)
}

// applyBackbone gives the backbone st's peers and, for every VPC namespace
// that exists (ready) and has remote subnets of a peer, those subnets; VPCs
// that no longer need the backbone leave it. Only what changed since the last
// successful call is given again. Remote subnets of hosts that are not peers
// (such as the server's in-process agent, which does not join the backbone)
// are skipped and logged once. It returns the VPCs whose backbone failed (not
// ready: the next Apply retries them) and the errors.
func (a *Agent) applyBackbone(st State, ready map[string]bool) (failed map[string]bool, errs []error) {
	failed = map[string]bool{}
	if a.bb == nil {
		return failed, nil
	}
	if a.bbState.vpcs == nil {
		a.bbState = backboneState{vpcs: map[string]map[netip.Prefix]string{}, skipped: map[string]bool{}, swept: map[string]bool{}}
	}
	var peerErr error
	if !a.bbState.peersOK || !slices.Equal(a.bbState.peers, st.Peers) {
		// SetPeers also brings every VPC it has to the new peers.
		peerErr = a.bb.SetPeers(st.Peers)
		a.bbState.peers, a.bbState.peersOK = slices.Clone(st.Peers), peerErr == nil
		if peerErr != nil {
			errs = append(errs, fmt.Errorf("backbone peers: %w", peerErr))
		}
	}
	peers := peerIDs(st)
	skipped, swept := map[string]bool{}, map[string]bool{}
	want := map[string]bool{}
	for _, v := range st.VPCs {
		if _, joined := a.bbState.vpcs[v.ID]; !ready[v.ID] {
			want[v.ID] = joined // left as it is until its namespace is back
			continue
		}
		remote := map[netip.Prefix]string{}
		for _, r := range v.Remote {
			if peers[r.Host] {
				remote[r.CIDR.Masked()] = r.Host
				continue
			}
			key := v.ID + " " + r.CIDR.String() + " " + r.Host
			skipped[key] = true
			if !a.bbState.skipped[key] {
				a.log.Warn("not routing a remote subnet: its host is not a backbone peer (the server without a backbone address, or a host without a backbone key, address or the same method)",
					"vpc", v.ID, "subnet", r.ID, "cidr", r.CIDR, "host", r.Host)
			}
		}
		if len(remote) == 0 {
			_, joined := a.bbState.vpcs[v.ID]
			if !joined && !a.bbState.swept[v.ID] {
				// The device an earlier run of this host's agent may have
				// left (this run never linked the VPC).
				if err := a.bb.RemoveVPC(v.ID, a.host.Namespace(v.ID)); err != nil {
					errs = append(errs, fmt.Errorf("vpc %s: removing a backbone device left before: %w", v.ID, err))
					continue
				}
			}
			swept[v.ID] = true
			continue
		}
		want[v.ID] = true
		if peerErr != nil {
			failed[v.ID] = true
		}
		if old, ok := a.bbState.vpcs[v.ID]; ok && maps.Equal(old, remote) {
			continue
		}
		if err := a.bb.SetVPC(v.ID, backbone.DefaultVNI(v.ID), a.host.Namespace(v.ID), remote); err != nil {
			errs = append(errs, fmt.Errorf("vpc %s backbone: %w", v.ID, err))
			failed[v.ID] = true
			a.bbState.vpcs[v.ID] = nil // given again next time (or removed)
			continue
		}
		a.bbState.vpcs[v.ID] = remote
	}
	a.bbState.skipped, a.bbState.swept = skipped, swept
	for id := range a.bbState.vpcs {
		if want[id] {
			continue
		}
		if err := a.bb.RemoveVPC(id, a.host.Namespace(id)); err != nil {
			errs = append(errs, fmt.Errorf("vpc %s leaving the backbone: %w", id, err))
			continue
		}
		delete(a.bbState.vpcs, id)
	}
	return failed, errs
}

// peerIDs is the set of st's backbone peers' host IDs.
func peerIDs(st State) map[string]bool {
	out := make(map[string]bool, len(st.Peers))
	for _, p := range st.Peers {
		out[p.HostID] = true
	}
	return out
}
