package placement_test

import (
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"strait/internal/agent"
	"strait/internal/dataplane"
	"strait/internal/placement"
)

// With the local host alone, its part is the whole state, exactly: the
// one-host default is unchanged, whatever zones the local host lists.
func TestSplitAloneIsTheWholeState(t *testing.T) {
	for _, hosts := range [][]placement.Host{
		{{ID: "local", Local: true}},
		{{ID: "local", Local: true, Zones: []string{zoneA, zoneB}}},
	} {
		st := region()
		parts := placement.Split(st, hosts)
		if want := map[string]agent.State{"local": region()}; !reflect.DeepEqual(parts, want) {
			t.Errorf("hosts %+v: parts differ from the whole state:\n%s", hosts, strings.Join(describeAll(parts), "\n"))
		}
	}
	// A remote host serving a zone nothing is in takes nothing from the local
	// host's part.
	parts := placement.Split(region(), []placement.Host{{ID: "local", Local: true}, {ID: "h9", Zones: []string{"us-east-1f"}}})
	if !reflect.DeepEqual(parts["local"], region()) {
		t.Errorf("with an idle remote host the local part is not the whole state:\n%s", strings.Join(describe(parts["local"]), "\n"))
	}
	if got, want := describe(parts["h9"]), []string{"remote-node 169.254.2.1@local", "remote-node 169.254.2.2@local"}; !slices.Equal(got, want) {
		t.Errorf("idle host's part %q, want %q", got, want)
	}
}

// Each object is on the host serving its zone; VPCs are on the hosts of their
// subnets with the other hosts' subnets as Remote; endpoints and load
// balancers keep their local ENIs and nodes; target groups and member sets go
// where they are used, the unused ones to the local host; RemoteNodes routes
// every other host's node transit addresses; each host sees the other hosts'
// nodes of its endpoints' load balancers (RemoteLoadBalancers) and their
// target groups without targets (the local host's endpoints in zone c have no
// node of their own).
func TestSplitByZone(t *testing.T) {
	st := region()
	hosts := []placement.Host{{ID: "h2", Zones: []string{zoneB}}, {ID: "local", Local: true}, {ID: "h1", Zones: []string{zoneA}}}
	parts := placement.Split(st, hosts)
	want := map[string][]string{
		"h1": {
			"endpoint vpce-1 enis=[eni-1a]",
			"endpoint vpce-3 enis=[]",
			"group sg-app",
			"instance i-app",
			"lb arn:lb/db nodes=[10.0.1.5/eni-nlb-a/169.254.2.1]",
			"remote-lb arn:lb/db nodes=[10.0.2.5/eni-nlb-b/169.254.2.2]",
			"remote-node 169.254.2.2@h2",
			"remote-tg arn:tg/db targets=0",
			"tg arn:tg/db",
			"vpc vpc-c local=[subnet-ca] remote=[subnet-cb@h2 subnet-cc@local]",
			"vpc vpc-p local=[subnet-pa] remote=[subnet-pb@h2]",
		},
		"h2": {
			"endpoint vpce-1 enis=[eni-1b]",
			"endpoint vpce-3 enis=[]",
			"group sg-app",
			"group sg-nlb",
			"instance i-db",
			"lb arn:lb/db nodes=[10.0.2.5/eni-nlb-b/169.254.2.2]",
			"lb arn:lb/web nodes=[10.0.2.6/eni-web-b/invalid IP]",
			"remote-lb arn:lb/db nodes=[10.0.1.5/eni-nlb-a/169.254.2.1]",
			"remote-node 169.254.2.1@h1",
			"remote-tg arn:tg/db targets=0",
			"tg arn:tg/db",
			"tg arn:tg/web",
			"vpc vpc-c local=[subnet-cb] remote=[subnet-ca@h1 subnet-cc@local]",
			"vpc vpc-p local=[subnet-pb] remote=[subnet-pa@h1]",
		},
		"local": {
			"endpoint vpce-1 enis=[eni-1c]",
			"endpoint vpce-2 enis=[eni-2c]",
			"endpoint vpce-3 enis=[]",
			"group sg-app",
			"group sg-spare",
			"instance i-app2",
			"remote-lb arn:lb/db nodes=[10.0.1.5/eni-nlb-a/169.254.2.1 10.0.2.5/eni-nlb-b/169.254.2.2]",
			"remote-lb arn:lb/web nodes=[10.0.2.6/eni-web-b/invalid IP]",
			"remote-node 169.254.2.1@h1",
			"remote-node 169.254.2.2@h2",
			"remote-tg arn:tg/db targets=0",
			"remote-tg arn:tg/web targets=0",
			"tg arn:tg/spare",
			"vpc vpc-c local=[subnet-cc] remote=[subnet-ca@h1 subnet-cb@h2]",
			"vpc vpc-empty local=[] remote=[]",
		},
	}
	if len(parts) != len(want) {
		t.Errorf("parts for %v, want %v", slices.Sorted(maps.Keys(parts)), slices.Sorted(maps.Keys(want)))
	}
	for h, w := range want {
		if got := describe(parts[h]); !slices.Equal(got, w) {
			t.Errorf("%s's part:\n  %s\nwant\n  %s", h, strings.Join(got, "\n  "), strings.Join(w, "\n  "))
		}
	}
	// Everything but the placement is as it was: a VPC's names, a load
	// balancer's listeners and firewall, an endpoint's firewall, the members.
	whole := map[string]agent.VPC{}
	for _, v := range st.VPCs {
		whole[v.ID] = v
	}
	for h, p := range parts {
		for _, v := range p.VPCs {
			if !reflect.DeepEqual(v.DNS, whole[v.ID].DNS) || v.CIDR != whole[v.ID].CIDR || v.TransitIP != whole[v.ID].TransitIP {
				t.Errorf("%s: VPC %s has DNS %v CIDR %v transit %v, want %v %v %v", h, v.ID, v.DNS, v.CIDR, v.TransitIP, whole[v.ID].DNS, whole[v.ID].CIDR, whole[v.ID].TransitIP)
			}
		}
		for _, tg := range p.RemoteTargetGroups {
			i := slices.IndexFunc(st.TargetGroups, func(x dataplane.TargetGroup) bool { return x.ARN == tg.ARN })
			o := st.TargetGroups[i]
			o.Targets = nil
			if !reflect.DeepEqual(tg, o) {
				t.Errorf("%s: remote target group %+v, want %+v", h, tg, o)
			}
		}
		for _, lb := range slices.Concat(p.LoadBalancers, p.RemoteLoadBalancers) {
			i := slices.IndexFunc(st.LoadBalancers, func(x agent.LoadBalancer) bool { return x.ARN == lb.ARN })
			o := st.LoadBalancers[i]
			if !reflect.DeepEqual(lb.Listeners, o.Listeners) || lb.Firewall != o.Firewall || lb.CrossZone != o.CrossZone || lb.ServiceID != o.ServiceID || lb.EnforceOnPrivateLink != o.EnforceOnPrivateLink {
				t.Errorf("%s: load balancer %s changed beyond its nodes: %+v", h, lb.ARN, lb)
			}
		}
		for _, ep := range p.Endpoints {
			i := slices.IndexFunc(st.Endpoints, func(x agent.Endpoint) bool { return x.ID == ep.ID })
			o := st.Endpoints[i]
			if !reflect.DeepEqual(ep.Firewall, o.Firewall) || !slices.Equal(ep.LoadBalancers, o.LoadBalancers) || ep.Open != o.Open || ep.ServiceID != o.ServiceID {
				t.Errorf("%s: endpoint %s changed beyond its ENIs: %+v", h, ep.ID, ep)
			}
		}
		for g, members := range p.Groups {
			if !slices.Equal(members, st.Groups[g]) {
				t.Errorf("%s: members of %s %v, want %v", h, g, members, st.Groups[g])
			}
		}
	}
	if !reflect.DeepEqual(st, region()) {
		t.Errorf("Split changed its input")
	}
}

// Whatever the hosts, every instance, endpoint ENI and load balancer node is
// on exactly one host (the local one when no other serves its zone), and every
// VPC on a host lists each of its subnets once, as local or as remote on the
// host that has the subnet.
func TestSplitPlacesEverythingOnce(t *testing.T) {
	layouts := [][]placement.Host{
		{{ID: "local", Local: true}, {ID: "h1", Zones: []string{zoneA, zoneB, zoneC}}},
		{{ID: "local", Local: true}, {ID: "h1", Zones: []string{zoneC}}},
		{{ID: "local", Local: true, Zones: []string{zoneA}}, {ID: "h1", Zones: []string{zoneA}}, {ID: "h2", Zones: []string{zoneB}}, {ID: "h3", Zones: []string{zoneC}}},
	}
	for _, hosts := range layouts {
		st := region()
		parts := placement.Split(st, hosts)
		count := map[string][]string{} // object → hosts that have it
		subnetHost := map[string]string{}
		for h, p := range parts {
			for _, in := range p.Instances {
				count[in.ID] = append(count[in.ID], h)
			}
			for _, ep := range p.Endpoints {
				for _, e := range ep.ENIs {
					count[ep.ID+"/"+e.ID] = append(count[ep.ID+"/"+e.ID], h)
				}
			}
			for _, lb := range p.LoadBalancers {
				for _, e := range lb.ENIs {
					count[lb.ARN+"/"+e.ID] = append(count[lb.ARN+"/"+e.ID], h)
				}
			}
			for _, v := range p.VPCs {
				for _, sn := range v.Subnets {
					subnetHost[sn.ID] = h
				}
			}
		}
		var all []string
		for _, in := range st.Instances {
			all = append(all, in.ID)
		}
		for _, ep := range st.Endpoints {
			for _, e := range ep.ENIs {
				all = append(all, ep.ID+"/"+e.ID)
			}
		}
		for _, lb := range st.LoadBalancers {
			for _, e := range lb.ENIs {
				all = append(all, lb.ARN+"/"+e.ID)
			}
		}
		for _, id := range all {
			if len(count[id]) != 1 {
				t.Errorf("hosts %v: %s is on %v", hosts, id, count[id])
			}
		}
		whole := map[string][]string{}
		for _, v := range st.VPCs {
			for _, sn := range v.Subnets {
				whole[v.ID] = append(whole[v.ID], sn.ID)
			}
		}
		for h, p := range parts {
			for _, v := range p.VPCs {
				var listed []string
				for _, sn := range v.Subnets {
					listed = append(listed, sn.ID)
				}
				for _, r := range v.Remote {
					listed = append(listed, r.ID)
					if r.Host == h || subnetHost[r.ID] != r.Host {
						t.Errorf("hosts %v: %s sees %s of %s on %s; it is on %s", hosts, h, r.ID, v.ID, r.Host, subnetHost[r.ID])
					}
				}
				slices.Sort(listed)
				if !slices.Equal(listed, whole[v.ID]) {
					t.Errorf("hosts %v: %s lists subnets %v of %s, want %v", hosts, h, listed, v.ID, whole[v.ID])
				}
			}
		}
	}
}

// A zone two hosts list is the first's by ID; without a local host, what is
// in a zone no host serves is on none.
func TestSplitConflictsAndNoLocalHost(t *testing.T) {
	parts := placement.Split(region(), []placement.Host{{ID: "h9", Zones: []string{zoneA, zoneB}}, {ID: "h0", Zones: []string{zoneA}}})
	want := map[string][]string{
		"h0": {
			"endpoint vpce-1 enis=[eni-1a]",
			"endpoint vpce-3 enis=[]",
			"group sg-app",
			"instance i-app",
			"lb arn:lb/db nodes=[10.0.1.5/eni-nlb-a/169.254.2.1]",
			"remote-lb arn:lb/db nodes=[10.0.2.5/eni-nlb-b/169.254.2.2]",
			"remote-node 169.254.2.2@h9",
			"remote-tg arn:tg/db targets=0",
			"tg arn:tg/db",
			"vpc vpc-c local=[subnet-ca] remote=[subnet-cb@h9]",
			"vpc vpc-p local=[subnet-pa] remote=[subnet-pb@h9]",
		},
		"h9": {
			"endpoint vpce-1 enis=[eni-1b]",
			"endpoint vpce-3 enis=[]",
			"group sg-app",
			"group sg-nlb",
			"instance i-db",
			"lb arn:lb/db nodes=[10.0.2.5/eni-nlb-b/169.254.2.2]",
			"lb arn:lb/web nodes=[10.0.2.6/eni-web-b/invalid IP]",
			"remote-lb arn:lb/db nodes=[10.0.1.5/eni-nlb-a/169.254.2.1]",
			"remote-node 169.254.2.1@h0",
			"remote-tg arn:tg/db targets=0",
			"tg arn:tg/db",
			"tg arn:tg/web",
			"vpc vpc-c local=[subnet-cb] remote=[subnet-ca@h0]",
			"vpc vpc-p local=[subnet-pb] remote=[subnet-pa@h0]",
		},
	}
	if len(parts) != len(want) {
		t.Errorf("parts for %v, want %v", slices.Sorted(maps.Keys(parts)), slices.Sorted(maps.Keys(want)))
	}
	for h, w := range want {
		if got := describe(parts[h]); !slices.Equal(got, w) {
			t.Errorf("%s's part:\n  %s\nwant\n  %s", h, strings.Join(got, "\n  "), strings.Join(w, "\n  "))
		}
	}
}

// describe lists what a part places, sorted: one line per object.
func describe(p agent.State) []string {
	var out []string
	for _, v := range p.VPCs {
		var local, remote []string
		for _, sn := range v.Subnets {
			local = append(local, sn.ID)
		}
		for _, r := range v.Remote {
			remote = append(remote, r.ID+"@"+r.Host)
		}
		out = append(out, fmt.Sprintf("vpc %s local=[%s] remote=[%s]", v.ID, strings.Join(local, " "), strings.Join(remote, " ")))
	}
	for _, in := range p.Instances {
		out = append(out, "instance "+in.ID)
	}
	for _, ep := range p.Endpoints {
		var enis []string
		for _, e := range ep.ENIs {
			enis = append(enis, e.ID)
		}
		out = append(out, fmt.Sprintf("endpoint %s enis=[%s]", ep.ID, strings.Join(enis, " ")))
	}
	for _, lb := range p.LoadBalancers {
		out = append(out, fmt.Sprintf("lb %s nodes=[%s]", lb.ARN, describeNodes(lb)))
	}
	for _, lb := range p.RemoteLoadBalancers {
		out = append(out, fmt.Sprintf("remote-lb %s nodes=[%s]", lb.ARN, describeNodes(lb)))
	}
	for _, tg := range p.RemoteTargetGroups {
		out = append(out, fmt.Sprintf("remote-tg %s targets=%d", tg.ARN, len(tg.Targets)))
	}
	for _, tg := range p.TargetGroups {
		out = append(out, "tg "+tg.ARN)
	}
	for g := range p.Groups {
		out = append(out, "group "+g)
	}
	for _, a := range slices.SortedFunc(maps.Keys(p.RemoteNodes), netip.Addr.Compare) {
		out = append(out, "remote-node "+a.String()+"@"+p.RemoteNodes[a])
	}
	slices.Sort(out)
	return out
}

// describeNodes lists a load balancer's nodes: address/ENI/transit address.
func describeNodes(lb agent.LoadBalancer) string {
	var nodes []string
	for i, n := range lb.Nodes {
		eni, transit := "?", "?"
		if i < len(lb.ENIs) {
			eni = lb.ENIs[i].ID
			if lb.ENIs[i].IP != n.IP {
				eni += "(address " + lb.ENIs[i].IP.String() + ")"
			}
		}
		if i < len(lb.Transit) {
			transit = lb.Transit[i].String()
		}
		nodes = append(nodes, n.IP.String()+"/"+eni+"/"+transit)
	}
	return strings.Join(nodes, " ")
}

func describeAll(parts map[string]agent.State) []string {
	var out []string
	for _, h := range slices.Sorted(maps.Keys(parts)) {
		for _, l := range describe(parts[h]) {
			out = append(out, h+": "+l)
		}
	}
	return out
}
