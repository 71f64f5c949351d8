package reconcile

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"strait/internal/agent"
	"strait/internal/agent/firewall"
	"strait/internal/agent/netns"
	"strait/internal/control"
	"strait/internal/control/elb"
	"strait/internal/control/endpoints"
	"strait/internal/dataplane"
	"strait/internal/model"
	"strait/internal/reconcile/status"
)

// Desired builds the host's desired state from a snapshot of the store: every VPC
// with its subnets and resolver names, every instance that is not terminated, every
// endpoint that is not being deleted (listening while pending or available), and
// every load balancer with the target groups its listeners forward to.
func Desired(s status.Snapshot, ctl *control.Control) agent.State {
	d := desired{
		snap:    s,
		ctl:     ctl,
		enis:    map[string]model.NetworkInterface{},
		subnets: map[string]model.Subnet{},
		members: map[string][]netip.Addr{},
		sgs:     map[string]model.SecurityGroup{},
		insts:   map[string]model.Instance{},

		referenced: map[string]bool{},
		firewalls:  map[string]firewall.Rules{},
	}
	for _, e := range s.ENIs {
		d.enis[e.ID] = e
		for _, g := range e.Groups {
			if ip, err := netip.ParseAddr(e.PrivateIP); err == nil {
				d.members[g] = append(d.members[g], ip)
			}
		}
	}
	for _, sn := range s.Subnets {
		d.subnets[sn.ID] = sn
	}
	for _, g := range s.SecurityGroups {
		d.sgs[g.ID] = g
	}
	for _, i := range s.Instances {
		d.insts[i.ID] = i
	}
	st := d.build()
	for g := range d.referenced {
		if st.Groups == nil {
			st.Groups = map[string][]netip.Addr{}
		}
		members := slices.Clone(d.members[g])
		slices.SortFunc(members, netip.Addr.Compare)
		st.Groups[g] = slices.Compact(members)
	}
	return st
}

type desired struct {
	snap    status.Snapshot
	ctl     *control.Control
	enis    map[string]model.NetworkInterface
	subnets map[string]model.Subnet
	members map[string][]netip.Addr // security group → addresses of the ENIs in it
	sgs     map[string]model.SecurityGroup
	insts   map[string]model.Instance
	// referenced holds the groups that firewall rules refer to.
	referenced map[string]bool
	// firewalls holds the firewall of each list of groups built so far: the
	// endpoints of a VPC usually share their groups, and so their firewall.
	firewalls map[string]firewall.Rules
}

func (d *desired) build() agent.State {
	var st agent.State
	vpcs := map[string]*agent.VPC{}
	dnsSupport := map[string]bool{}
	for _, v := range d.snap.Vpcs {
		cidr, err := netip.ParsePrefix(v.CIDR)
		if err != nil {
			continue
		}
		transit, _ := netip.ParseAddr(v.TransitIP) // invalid until assigned
		st.VPCs = append(st.VPCs, agent.VPC{VPC: netns.VPC{ID: v.ID, CIDR: cidr, TransitIP: transit}, DNS: map[string][]netip.Addr{}})
		dnsSupport[v.ID] = v.EnableDNSSupport
	}
	for i := range st.VPCs {
		vpcs[st.VPCs[i].ID] = &st.VPCs[i]
	}
	for _, sn := range d.snap.Subnets {
		v, ok := vpcs[sn.VpcID]
		cidr, err := netip.ParsePrefix(sn.CIDR)
		if !ok || err != nil {
			continue
		}
		v.Subnets = append(v.Subnets, netns.Subnet{ID: sn.ID, CIDR: cidr, AZ: sn.AZ})
	}
	addName := func(vpcID, name string, ips ...netip.Addr) {
		if v, ok := vpcs[vpcID]; ok && dnsSupport[vpcID] && name != "" {
			fq := strings.ToLower(strings.TrimSuffix(name, ".")) + "."
			v.DNS[fq] = append(v.DNS[fq], ips...)
		}
	}

	for _, in := range d.snap.Instances {
		if in.State == model.InstanceTerminated || in.State == model.InstanceShuttingDown {
			continue
		}
		ip, err := netip.ParseAddr(in.PrivateIP)
		if err != nil || vpcs[in.VpcID] == nil {
			continue
		}
		st.Instances = append(st.Instances, agent.Instance{
			Instance: netns.Instance{ID: in.ID, VpcID: in.VpcID, SubnetID: in.SubnetID, IP: ip},
			Firewall: d.firewall(in.SecurityGroups, true),
		})
		addName(in.VpcID, in.PrivateDNSName, ip)
	}

	services := map[string]model.EndpointService{}
	serviceOfLB := map[string]string{}
	for _, svc := range d.snap.Services {
		services[svc.ID] = svc
		for _, arn := range svc.NLBARNs {
			serviceOfLB[arn] = svc.ID
		}
	}
	listeners := map[string]model.Listener{}
	for _, l := range d.snap.Listeners {
		listeners[l.ARN] = l
	}
	used := map[string]bool{}
	lbs := map[string]bool{}
	for _, lb := range d.snap.LoadBalancers {
		if lb.State != model.LBStateActive && lb.State != model.LBStateProvisioning || vpcs[lb.VpcID] == nil {
			continue
		}
		lbs[lb.ARN] = true
		out := agent.LoadBalancer{LoadBalancer: dataplane.LoadBalancer{
			ARN: lb.ARN, VpcID: lb.VpcID, ServiceID: serviceOfLB[lb.ARN],
			CrossZone: lb.Attributes["load_balancing.cross_zone.enabled"] == "true",
		}}
		var nodeIPs []netip.Addr
		for _, n := range lb.Nodes {
			ip, err := netip.ParseAddr(n.PrivateIP)
			if err != nil {
				continue
			}
			out.Nodes = append(out.Nodes, dataplane.Node{AZ: n.AZ, IP: ip})
			out.ENIs = append(out.ENIs, netns.ENI{ID: n.ENIID, SubnetID: n.SubnetID, AZ: n.AZ, IP: ip})
			transit, _ := netip.ParseAddr(n.TransitIP) // invalid until assigned
			out.Transit = append(out.Transit, transit)
			nodeIPs = append(nodeIPs, ip)
		}
		for _, arn := range lb.Listeners {
			l, ok := listeners[arn]
			if !ok || len(l.Actions) == 0 || l.Actions[0].TargetGroupARN == "" {
				continue
			}
			out.Listeners = append(out.Listeners, dataplane.Listener{Port: uint16(l.Port), TargetGroup: l.Actions[0].TargetGroupARN,
				IdleTimeout: elb.ListenerIdleTimeout(l)})
			used[l.Actions[0].TargetGroupARN] = true
		}
		if len(lb.SecurityGroups) > 0 {
			fw := d.firewall(lb.SecurityGroups, false)
			out.Firewall = &fw
			out.EnforceOnPrivateLink = lb.EnforceSGInboundOnPrivateLink != "off"
		}
		st.LoadBalancers = append(st.LoadBalancers, out)
		addName(lb.VpcID, lb.DNSName, nodeIPs...)
	}

	for _, tg := range d.snap.TargetGroups {
		if used[tg.ARN] {
			st.TargetGroups = append(st.TargetGroups, d.targetGroup(tg))
		}
	}

	for _, ep := range d.snap.Endpoints {
		if ep.State == model.EndpointDeleting || ep.State == model.EndpointDeleted || vpcs[ep.VpcID] == nil {
			continue
		}
		svc := services[ep.ServiceID]
		out := agent.Endpoint{
			ID: ep.ID, VpcID: ep.VpcID, ServiceID: ep.ServiceID,
			Firewall: d.firewall(ep.SecurityGroups, false),
			Open:     ep.State == model.EndpointPending || ep.State == model.EndpointAvailable,
		}
		for _, arn := range svc.NLBARNs {
			if lbs[arn] {
				out.LoadBalancers = append(out.LoadBalancers, arn)
			}
		}
		var all []netip.Addr
		byAZ := map[string][]netip.Addr{}
		for _, id := range ep.ENIs {
			e, ok := d.enis[id]
			ip, err := netip.ParseAddr(e.PrivateIP)
			if !ok || err != nil {
				continue
			}
			out.ENIs = append(out.ENIs, netns.ENI{ID: e.ID, SubnetID: e.SubnetID, AZ: e.AZ, IP: ip})
			all = append(all, ip)
			byAZ[e.AZ] = append(byAZ[e.AZ], ip)
		}
		st.Endpoints = append(st.Endpoints, out)
		// Names: the regional name (all zones), one zonal name per zone, and the
		// service's private DNS name where this endpoint holds it.
		for i, e := range d.ctl.EndpointDNSEntries(ep, endpoints.ServiceVerifiedName(svc)) {
			switch {
			case i == 0 || e.Name == ep.PrivateDNSName:
				addName(ep.VpcID, e.Name, all...)
			default:
				for az, ips := range byAZ {
					if strings.Contains(e.Name, "-"+az+".") {
						addName(ep.VpcID, e.Name, ips...)
					}
				}
			}
		}
	}
	return st
}

// targetGroup is a target group as the data plane routes and checks it.
func (d *desired) targetGroup(tg model.TargetGroup) dataplane.TargetGroup {
	hc := tg.HealthCheck
	out := dataplane.TargetGroup{
		ARN: tg.ARN, VpcID: tg.VpcID,
		ProxyProtocolV2: tg.Attributes["proxy_protocol_v2.enabled"] == "true",
		Relay:           tg.Attributes[model.RelayAttribute] == "true",
		HealthCheck: dataplane.HealthCheck{
			Enabled: hc.Enabled, Protocol: hc.Protocol, Path: hc.Path, Matcher: hc.Matcher,
			Interval:           time.Duration(hc.IntervalSeconds) * time.Second,
			Timeout:            time.Duration(hc.TimeoutSeconds) * time.Second,
			HealthyThreshold:   int(hc.HealthyThreshold),
			UnhealthyThreshold: int(hc.UnhealthyThreshold),
		},
	}
	if p, err := strconv.Atoi(hc.Port); err == nil {
		out.HealthCheck.Port = uint16(p)
	}
	for _, t := range tg.Targets {
		ip, err := netip.ParseAddr(t.ID)
		if err != nil {
			inst, ok := d.insts[t.ID]
			if !ok || inst.State != model.InstanceRunning {
				continue
			}
			if ip, err = netip.ParseAddr(inst.PrivateIP); err != nil {
				continue
			}
		}
		out.Targets = append(out.Targets, dataplane.Target{
			ID: t.ID, Addr: netip.AddrPortFrom(ip, uint16(t.Port)), AZ: t.AZ,
			Draining: !t.DrainingUntil.IsZero(),
		})
	}
	return out
}

// firewall merges the rules of security groups: ingress only, or both directions.
// A rule that references a group allows the addresses of that group's members
// (State.Groups).
func (d *desired) firewall(groups []string, egress bool) firewall.Rules {
	memo := strconv.FormatBool(egress) + "/" + strings.Join(groups, ",")
	if fw, ok := d.firewalls[memo]; ok {
		return fw
	}
	fw := d.buildFirewall(groups, egress)
	d.firewalls[memo] = fw
	return fw
}

// buildFirewall is firewall without the memo.
func (d *desired) buildFirewall(groups []string, egress bool) firewall.Rules {
	var fw firewall.Rules
	for _, id := range groups {
		for _, r := range d.sgs[id].Rules {
			if r.Egress && !egress {
				continue
			}
			rule := firewall.Rule{Protocol: ruleProtocol(r.Protocol), FromPort: r.FromPort, ToPort: r.ToPort}
			switch {
			case r.CIDR != "":
				if p, err := netip.ParsePrefix(r.CIDR); err == nil {
					rule.Prefixes = []netip.Prefix{p.Masked()}
				}
			case r.GroupID != "":
				rule.Group = r.GroupID
				d.referenced[r.GroupID] = true
			}
			if len(rule.Prefixes) == 0 && rule.Group == "" {
				continue // IPv6 and prefix-list rules match no IPv4 source here
			}
			if r.Egress {
				fw.Egress = append(fw.Egress, rule)
			} else {
				fw.Ingress = append(fw.Ingress, rule)
			}
		}
	}
	return fw
}

// ruleProtocol names a security group rule's protocol as the firewall takes it.
func ruleProtocol(p string) string {
	switch p {
	case "-1", "all":
		return "all"
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	}
	return p
}
