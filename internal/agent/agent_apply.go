package agent

import (
	"maps"
	"net/netip"
	"reflect"
	"slices"

	"strait/internal/agent/firewall"
	"strait/internal/agent/netns"
)

// applyVPC creates or rewires a VPC namespace when its specification changed
// (its names change often: the resolver takes them without rewiring).
// Rewiring may replace bridges, so the VPC's addresses are set whole again.
func (a *Agent) applyVPC(v VPC) error {
	if old, ok := a.vpcs[v.ID]; ok && reflect.DeepEqual(old, v.VPC) {
		return nil
	}
	delete(a.addrs, v.ID)
	created, err := a.host.EnsureVPC(v.VPC)
	if created {
		a.fw.Forget(v.ID)
		if _, joined := a.bbState.vpcs[v.ID]; joined {
			a.bbState.vpcs[v.ID] = nil // a new namespace: its backbone device is given again
		}
	}
	if err != nil {
		return err
	}
	a.vpcs[v.ID] = v.VPC
	return nil
}

func (a *Agent) applyInstance(in Instance, v VPC, groups map[string][]netip.Addr) error {
	if old, ok := a.instances[in.ID]; !ok || old.IP != in.IP || old.SubnetID != in.SubnetID || old.VpcID != in.VpcID {
		created, err := a.host.EnsureInstance(in.Instance, v.VPC)
		if created {
			a.fw.Forget(in.ID)
		}
		if err != nil {
			return err
		}
		a.instances[in.ID] = in.Instance
		delete(a.instFW, in.ID)
	}
	if err := a.applyInstanceFirewall(in, v, groups); err != nil {
		return err
	}
	a.instances[in.ID] = in.Instance
	return nil
}

// applyAddresses makes the VPC's ENI addresses enis and its firewall fw: the
// first time (and after a failure) all of them, then what changed.
func (a *Agent) applyAddresses(v VPC, enis []netns.ENI, fw map[netip.Addr]firewall.Rules, groups map[string][]netip.Addr) error {
	want := make(map[netip.Addr]netns.ENI, len(enis))
	for _, e := range enis {
		want[e.IP] = e
	}
	old, ok := a.addrs[v.ID]
	if !ok || !maps.Equal(old, want) {
		delete(a.addrs, v.ID)
		var err error
		if ok {
			var add, remove []netns.ENI
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
			a.ph.time("change_addresses", func() { err = a.host.ChangeAddresses(v.ID, add, remove, v.VPC) })
		} else {
			a.ph.time("set_addresses", func() { err = a.host.SetAddresses(v.ID, enis, v.VPC) })
		}
		if err != nil {
			return err
		}
		a.addrs[v.ID] = want
	}
	return a.applyVPCFirewall(v.ID, fw, groups)
}

// applyResolver has the relay run the VPC's resolver at base + 2 with the
// VPC's names, when they changed.
func (a *Agent) applyResolver(v VPC) error {
	if names, ok := a.resolvers[v.ID]; ok && maps.EqualFunc(names, v.DNS, slices.Equal) {
		return nil
	}
	addr := netip.AddrPortFrom(v.CIDR.Masked().Addr().Next().Next(), 53)
	if err := a.relay.SetResolver(v.ID, addr, v.DNS); err != nil {
		return err
	}
	a.resolvers[v.ID] = v.DNS
	return nil
}
