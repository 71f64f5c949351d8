package agent

import (
	"maps"
	"net/netip"
	"reflect"
	"slices"

	"strait/internal/dns"
)

// applyVPC creates or rewires a VPC namespace when its specification changed.
// Rewiring may replace bridges, so the VPC's addresses are set whole again.
func (a *Agent) applyVPC(v VPC) error {
	spec := v
	spec.DNS = nil // names change often; the resolver takes them without rewiring
	if old, ok := a.vpcs[v.ID]; ok && reflect.DeepEqual(old, spec) {
		return nil
	}
	delete(a.addrs, v.ID)
	if err := a.host.EnsureVPC(v); err != nil {
		return err
	}
	a.vpcs[v.ID] = spec
	return nil
}

func (a *Agent) applyInstance(in Instance, v VPC, groups map[string][]netip.Addr) error {
	if old, ok := a.instances[in.ID]; !ok || old.IP != in.IP || old.SubnetID != in.SubnetID || old.VpcID != in.VpcID {
		if err := a.host.EnsureInstance(in, v); err != nil {
			return err
		}
		a.instances[in.ID] = in
		delete(a.instFW, in.ID)
	}
	want := appliedFirewall[Firewall]{in.Firewall, referencedGroups(groups, in.Firewall)}
	if old, ok := a.instFW[in.ID]; ok && reflect.DeepEqual(old, want) {
		return nil
	}
	var err error
	a.ph.time("instance_nft", func() { err = a.host.ApplyInstanceFirewall(in.ID, in.Firewall, groups) })
	if err != nil {
		return err
	}
	a.instFW[in.ID] = want
	a.instances[in.ID] = in
	return nil
}

// applyAddresses makes the VPC's ENI addresses enis and its firewall fw: the
// first time (and after a failure) all of them, then what changed.
func (a *Agent) applyAddresses(v VPC, enis []ENI, fw map[netip.Addr]Firewall, groups map[string][]netip.Addr) error {
	want := make(map[netip.Addr]ENI, len(enis))
	for _, e := range enis {
		want[e.IP] = e
	}
	old, ok := a.addrs[v.ID]
	if !ok || !maps.Equal(old, want) {
		delete(a.addrs, v.ID)
		var err error
		if ok {
			var add, remove []ENI
			for ip, e := range want {
				if o, had := old[ip]; !had || o != e {
					add = append(add, e)
				}
			}
			for ip, o := range old {
				if e, keep := want[ip]; !keep || e.SubnetID != o.SubnetID {
					remove = append(remove, o)
				}
			}
			a.ph.time("change_addresses", func() { err = a.host.ChangeAddresses(v.ID, add, remove, v) })
		} else {
			a.ph.time("set_addresses", func() { err = a.host.SetAddresses(v.ID, enis, v) })
		}
		if err != nil {
			return err
		}
		a.addrs[v.ID] = want
	}
	fws := make([]Firewall, 0, len(fw))
	for _, f := range fw {
		fws = append(fws, f)
	}
	applied := appliedFirewall[map[netip.Addr]Firewall]{fw, referencedGroups(groups, fws...)}
	if old, ok := a.vpcFW[v.ID]; ok && reflect.DeepEqual(old, applied) {
		return nil
	}
	var err error
	a.ph.time("vpc_nft", func() { err = a.host.ApplyVPCFirewall(v.ID, fw, groups) })
	if err != nil {
		return err
	}
	a.vpcFW[v.ID] = applied
	return nil
}

// appliedFirewall is a firewall as last applied to a namespace, with the members
// of the groups its rules refer to.
type appliedFirewall[F any] struct {
	fw     F
	groups map[string][]netip.Addr
}

// referencedGroups are the entries of groups that the firewalls' rules refer to.
func referencedGroups(groups map[string][]netip.Addr, fws ...Firewall) map[string][]netip.Addr {
	var out map[string][]netip.Addr
	for _, fw := range fws {
		for _, rules := range [][]Rule{fw.Ingress, fw.Egress, fw.AlsoIngress} {
			for _, r := range rules {
				if r.Group == "" {
					continue
				}
				if out == nil {
					out = map[string][]netip.Addr{}
				}
				out[r.Group] = groups[r.Group]
			}
		}
	}
	return out
}

// applyResolver starts the VPC's resolver at base + 2 if needed and gives it the
// VPC's names when they changed.
func (a *Agent) applyResolver(v VPC) error {
	r, ok := a.resolvers[v.ID]
	if !ok {
		addr := netip.AddrPortFrom(v.CIDR.Masked().Addr().Next().Next(), 53)
		udp, err := a.host.ListenUDP(v.ID, addr)
		if err != nil {
			return err
		}
		tcp, err := a.host.Listen(v.ID, addr)
		if err != nil {
			udp.Close()
			return err
		}
		r = &resolver{srv: dns.New(a.log), udp: udp, tcp: tcp}
		a.resolvers[v.ID] = r
		go func() {
			if err := r.srv.Serve(udp, tcp); err != nil {
				a.log.Warn("resolver stopped", "vpc", v.ID, "err", err)
			}
		}()
	}
	if r.names != nil && maps.EqualFunc(r.names, v.DNS, slices.Equal) {
		return nil
	}
	r.srv.SetRecords(v.DNS)
	r.names = v.DNS
	return nil
}
