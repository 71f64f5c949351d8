package agent

import (
	"net/netip"
	"reflect"

	"strait/internal/agent/firewall"
	"strait/internal/agent/netns"
)

// Firewall loads security group rules into the namespaces of VPCs and
// instances: firewall.NFTables on the host, firewall.Fake in tests that need
// no root. Apply calls it only for the namespaces whose rules, or the members
// of the groups the rules refer to, changed.
type Firewall interface {
	// ApplyVPC makes the firewall of a VPC's namespace the rules of each ENI
	// address in rules; groups holds the members of the groups they refer to.
	ApplyVPC(vpcID string, rules map[netip.Addr]firewall.Rules, groups map[string][]netip.Addr) error
	// ApplyInstance makes the firewall of an instance's namespace rules; DNS
	// to resolver, its VPC's resolver, always passes.
	ApplyInstance(instanceID string, rules firewall.Rules, groups map[string][]netip.Addr, resolver netip.Addr) error
	// Forget drops what the firewall remembers of a namespace that was
	// removed or made new.
	Forget(id string)
}

// applyVPCFirewall makes the firewall of a VPC's namespace fw (ENI address →
// its rules), unless fw and the members of the groups it refers to are those
// last applied. A failure is retried by the next Apply.
func (a *Agent) applyVPCFirewall(vpcID string, fw map[netip.Addr]firewall.Rules, groups map[string][]netip.Addr) error {
	fws := make([]firewall.Rules, 0, len(fw))
	for _, f := range fw {
		fws = append(fws, f)
	}
	applied := appliedFirewall[map[netip.Addr]firewall.Rules]{fw, referencedGroups(groups, fws...)}
	if old, ok := a.vpcFW[vpcID]; ok && reflect.DeepEqual(old, applied) {
		return nil
	}
	var err error
	a.ph.time("vpc_nft", func() { err = a.fw.ApplyVPC(vpcID, fw, groups) })
	if err != nil {
		return err
	}
	a.vpcFW[vpcID] = applied
	return nil
}

// applyInstanceFirewall makes the firewall of an instance's namespace its
// rules, as applyVPCFirewall does; DNS to the resolver of its VPC v passes.
func (a *Agent) applyInstanceFirewall(in Instance, v VPC, groups map[string][]netip.Addr) error {
	want := appliedFirewall[firewall.Rules]{in.Firewall, referencedGroups(groups, in.Firewall)}
	if old, ok := a.instFW[in.ID]; ok && reflect.DeepEqual(old, want) {
		return nil
	}
	var err error
	a.ph.time("instance_nft", func() { err = a.fw.ApplyInstance(in.ID, in.Firewall, groups, netns.Resolver(v.CIDR)) })
	if err != nil {
		return err
	}
	a.instFW[in.ID] = want
	return nil
}

// appliedFirewall is a firewall as last applied to a namespace, with the members
// of the groups its rules refer to.
type appliedFirewall[F any] struct {
	fw     F
	groups map[string][]netip.Addr
}

// referencedGroups are the entries of groups that the firewalls' rules refer to.
func referencedGroups(groups map[string][]netip.Addr, fws ...firewall.Rules) map[string][]netip.Addr {
	var out map[string][]netip.Addr
	for _, fw := range fws {
		for _, rules := range [][]firewall.Rule{fw.Ingress, fw.Egress, fw.AlsoIngress} {
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
