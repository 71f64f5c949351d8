package placement

import (
	"net/netip"
	"slices"
	"strings"

	"strait/internal/agent"
	"strait/internal/agent/firewall"
	"strait/internal/agent/netns"
)

// Host is a host of the region's data plane and the availability zones it
// serves.
type Host struct {
	ID    string
	Zones []string
	// Local marks the server's in-process agent: it serves every zone no other
	// host serves (its own Zones are not needed). One host should be Local; of
	// several, the first by ID is, and the others serve the zones they list.
	Local bool
}

// zones tells which host serves a zone.
type zones struct {
	served map[string]string // zone → the ID of the host that serves it
	local  string            // the local host's ID ("" when there is none)
}

// newZones assigns each zone to a host: a zone two hosts list goes to the
// first by ID, a zone no host lists to the local host.
func newZones(hosts []Host) zones {
	sorted := slices.SortedFunc(slices.Values(hosts), func(a, b Host) int { return strings.Compare(a.ID, b.ID) })
	z := zones{served: map[string]string{}}
	for _, h := range sorted {
		if h.Local && z.local == "" {
			z.local = h.ID
			continue
		}
		for _, zone := range h.Zones {
			if _, taken := z.served[zone]; !taken {
				z.served[zone] = h.ID
			}
		}
	}
	return z
}

// host is the ID of the host serving zone; "" when no host does and there is
// no local host.
func (z zones) host(zone string) string {
	if h, ok := z.served[zone]; ok {
		return h
	}
	return z.local
}

// Split gives each host its part of st, by zone: a subnet's instances,
// endpoint ENIs and load balancer nodes are on the host serving the subnet's
// zone; a VPC is on every host that serves one of its subnets' zones (or has
// one of its objects), with its local subnets in Subnets and the others in
// Remote, and the same DNS names everywhere; an endpoint keeps its local ENIs
// and is on no host without one; a load balancer keeps its local nodes (with
// their ENIs and transit addresses, in the same order) and is on no host
// without one; a target group is wherever a load balancer forwarding to it
// is; a security group's members (Groups) are wherever a rule refers to the
// group; RemoteNodes tells each host where the other hosts' nodes' transit
// addresses are, and RemoteLoadBalancers (with RemoteTargetGroups, without
// targets) which other hosts' nodes its endpoints' load balancers have. Endpoints and load balancers without any ENI or node are
// wherever their VPC is, and a VPC with neither subnets nor objects, a target
// group no load balancer uses and a group no rule refers to are on the local
// host.
//
// Every host of hosts has a part, empty when nothing is placed on it. Objects
// in zones that no host serves are on the local host; without a local host
// they are on none. With the local host alone its part is st itself. Parts
// share slices and maps with st: neither may be changed afterwards.
func Split(st agent.State, hosts []Host) map[string]agent.State {
	z := newZones(hosts)
	parts := make(map[string]*agent.State, len(hosts))
	for _, h := range hosts {
		parts[h.ID] = &agent.State{}
	}
	subnetZone := map[string]string{}
	for _, v := range st.VPCs {
		for _, sn := range v.Subnets {
			subnetZone[sn.ID] = sn.AZ
		}
	}
	eniHost := func(e netns.ENI) string {
		if e.AZ != "" {
			return z.host(e.AZ)
		}
		return z.host(subnetZone[e.SubnetID])
	}
	vpcHosts := placeVPCs(st, z, subnetZone, eniHost)

	for _, v := range st.VPCs {
		for _, h := range vpcHosts[v.ID] {
			parts[h].VPCs = append(parts[h].VPCs, localVPC(v, h, z))
		}
	}
	for _, in := range st.Instances {
		if h := z.host(subnetZone[in.SubnetID]); h != "" {
			parts[h].Instances = append(parts[h].Instances, in)
		}
	}
	for _, ep := range st.Endpoints {
		if len(ep.ENIs) == 0 {
			for _, h := range vpcHosts[ep.VpcID] {
				parts[h].Endpoints = append(parts[h].Endpoints, ep)
			}
			continue
		}
		for _, h := range byHost(len(ep.ENIs), func(i int) string { return eniHost(ep.ENIs[i]) }) {
			out := ep
			out.ENIs = pick(ep.ENIs, h.indexes)
			parts[h.id].Endpoints = append(parts[h.id].Endpoints, out)
		}
	}
	nodes := map[netip.Addr]string{} // node transit address → its host
	for _, lb := range st.LoadBalancers {
		if len(lb.Nodes) == 0 {
			for _, h := range vpcHosts[lb.VpcID] {
				parts[h].LoadBalancers = append(parts[h].LoadBalancers, lb)
			}
			continue
		}
		for _, h := range byHost(len(lb.Nodes), func(i int) string { return z.host(lb.Nodes[i].AZ) }) {
			out := lb
			out.Nodes = pick(lb.Nodes, h.indexes)
			out.ENIs = pick(lb.ENIs, h.indexes)
			out.Transit = pick(lb.Transit, h.indexes)
			parts[h.id].LoadBalancers = append(parts[h.id].LoadBalancers, out)
			for _, t := range out.Transit {
				if t.IsValid() {
					nodes[t] = h.id
				}
			}
		}
	}
	placeTargetGroups(st, parts, z.local)
	placeRemoteLoadBalancers(st, parts, z)
	placeGroups(st, parts, z.local)
	for id, p := range parts {
		for t, h := range nodes {
			if h == id {
				continue
			}
			if p.RemoteNodes == nil {
				p.RemoteNodes = map[netip.Addr]string{}
			}
			p.RemoteNodes[t] = h
		}
	}

	out := make(map[string]agent.State, len(parts))
	for id, p := range parts {
		out[id] = *p
	}
	return out
}

// placeVPCs lists the hosts of each VPC: those serving its subnets' zones or
// holding one of its objects, else the local host.
func placeVPCs(st agent.State, z zones, subnetZone map[string]string, eniHost func(netns.ENI) string) map[string][]string {
	hosts := map[string][]string{}
	add := func(vpc, h string) {
		if h != "" && !slices.Contains(hosts[vpc], h) {
			hosts[vpc] = append(hosts[vpc], h)
		}
	}
	for _, v := range st.VPCs {
		for _, sn := range v.Subnets {
			add(v.ID, z.host(sn.AZ))
		}
	}
	for _, in := range st.Instances {
		add(in.VpcID, z.host(subnetZone[in.SubnetID]))
	}
	for _, ep := range st.Endpoints {
		for _, e := range ep.ENIs {
			add(ep.VpcID, eniHost(e))
		}
	}
	for _, lb := range st.LoadBalancers {
		for _, n := range lb.Nodes {
			add(lb.VpcID, z.host(n.AZ))
		}
	}
	for _, v := range st.VPCs {
		if len(hosts[v.ID]) == 0 {
			add(v.ID, z.local)
		}
	}
	return hosts
}

// localVPC is v as host h has it: the subnets h serves in Subnets, the others
// in Remote with their host (subnets of zones no host serves in neither).
func localVPC(v agent.VPC, h string, z zones) agent.VPC {
	var local []netns.Subnet
	var remote []agent.RemoteSubnet
	for _, sn := range v.Subnets {
		switch at := z.host(sn.AZ); at {
		case h:
			local = append(local, sn)
		case "":
		default:
			remote = append(remote, agent.RemoteSubnet{Subnet: sn, Host: at})
		}
	}
	if len(local) == len(v.Subnets) {
		local = v.Subnets
	}
	v.Subnets, v.Remote = local, remote
	return v
}

// hostIndexes are the indexes of a list's elements that are on one host.
type hostIndexes struct {
	id      string
	indexes []int
}

// byHost groups the indexes 0…n-1 by the host hostOf names, hosts in order of
// first appearance; indexes whose host is "" are on none.
func byHost(n int, hostOf func(int) string) []hostIndexes {
	var out []hostIndexes
	for i := range n {
		h := hostOf(i)
		if h == "" {
			continue
		}
		j := slices.IndexFunc(out, func(x hostIndexes) bool { return x.id == h })
		if j < 0 {
			out = append(out, hostIndexes{id: h})
			j = len(out) - 1
		}
		out[j].indexes = append(out[j].indexes, i)
	}
	return out
}

// pick returns the elements of s at indexes (those past its end are left
// out); s itself when that is all of s.
func pick[T any](s []T, indexes []int) []T {
	if len(indexes) == len(s) && (len(s) == 0 || indexes[len(indexes)-1] == len(s)-1) {
		return s
	}
	var out []T
	for _, i := range indexes {
		if i < len(s) {
			out = append(out, s[i])
		}
	}
	return out
}

// placeTargetGroups puts each target group on the hosts of the load balancers
// that forward to it, or on the local host when none does.
func placeTargetGroups(st agent.State, parts map[string]*agent.State, local string) {
	used := map[string][]string{} // target group ARN → hosts
	for id, p := range parts {
		for _, lb := range p.LoadBalancers {
			for _, l := range lb.Listeners {
				if !slices.Contains(used[l.TargetGroup], id) {
					used[l.TargetGroup] = append(used[l.TargetGroup], id)
				}
			}
		}
	}
	for _, tg := range st.TargetGroups {
		hosts := used[tg.ARN]
		if len(hosts) == 0 && local != "" {
			hosts = []string{local}
		}
		for _, h := range hosts {
			parts[h].TargetGroups = append(parts[h].TargetGroups, tg)
		}
	}
}

// placeRemoteLoadBalancers gives each host a view of the load balancers its
// endpoints (those with ENIs on it) use that have nodes on other hosts: the
// load balancer with only those nodes, and the target groups of its listeners
// without their targets.
func placeRemoteLoadBalancers(st agent.State, parts map[string]*agent.State, z zones) {
	for id, p := range parts {
		used := map[string]bool{}
		for _, ep := range p.Endpoints {
			if len(ep.ENIs) == 0 {
				continue
			}
			for _, arn := range ep.LoadBalancers {
				used[arn] = true
			}
		}
		groups := map[string]bool{}
		for _, lb := range st.LoadBalancers {
			if !used[lb.ARN] {
				continue
			}
			var others []int
			for i, n := range lb.Nodes {
				if h := z.host(n.AZ); h != "" && h != id {
					others = append(others, i)
				}
			}
			if len(others) == 0 {
				continue
			}
			out := lb
			out.Nodes = pick(lb.Nodes, others)
			out.ENIs = pick(lb.ENIs, others)
			out.Transit = pick(lb.Transit, others)
			p.RemoteLoadBalancers = append(p.RemoteLoadBalancers, out)
			for _, l := range lb.Listeners {
				groups[l.TargetGroup] = true
			}
		}
		for _, tg := range st.TargetGroups {
			if groups[tg.ARN] {
				tg.Targets = nil
				p.RemoteTargetGroups = append(p.RemoteTargetGroups, tg)
			}
		}
	}
}

// placeGroups gives each host the member sets of the security groups its
// objects' rules refer to; sets no rule refers to go to the local host.
func placeGroups(st agent.State, parts map[string]*agent.State, local string) {
	if st.Groups == nil {
		return
	}
	refs := make(map[string]map[string]bool, len(parts))
	anywhere := map[string]bool{}
	for id, p := range parts {
		refs[id] = referencedGroups(*p)
		for g := range refs[id] {
			anywhere[g] = true
		}
	}
	if r, ok := refs[local]; ok {
		for g := range st.Groups {
			if !anywhere[g] {
				r[g] = true
			}
		}
	}
	for id, p := range parts {
		all := true
		for g := range st.Groups {
			all = all && refs[id][g]
		}
		if all {
			p.Groups = st.Groups
			continue
		}
		for g := range refs[id] {
			if members, ok := st.Groups[g]; ok {
				if p.Groups == nil {
					p.Groups = map[string][]netip.Addr{}
				}
				p.Groups[g] = members
			}
		}
	}
}

// referencedGroups are the security groups the rules of p's instances,
// endpoints and load balancers refer to.
func referencedGroups(p agent.State) map[string]bool {
	refs := map[string]bool{}
	add := func(fw firewall.Rules) {
		for _, rules := range [][]firewall.Rule{fw.Ingress, fw.Egress, fw.AlsoIngress} {
			for _, r := range rules {
				if r.Group != "" {
					refs[r.Group] = true
				}
			}
		}
	}
	for _, in := range p.Instances {
		add(in.Firewall)
	}
	for _, ep := range p.Endpoints {
		add(ep.Firewall)
	}
	for _, lb := range slices.Concat(p.LoadBalancers, p.RemoteLoadBalancers) {
		if lb.Firewall != nil {
			add(*lb.Firewall)
		}
	}
	return refs
}
