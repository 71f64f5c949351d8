package placement_test

import (
	"net/netip"
	"time"

	"strait/internal/agent"
	"strait/internal/agent/firewall"
	"strait/internal/agent/netns"
	"strait/internal/dataplane"
)

const (
	zoneA = "us-east-1a"
	zoneB = "us-east-1b"
	zoneC = "us-east-1c"
)

var (
	ip     = netip.MustParseAddr
	prefix = netip.MustParsePrefix
)

// region is a desired state shaped as reconcile.Desired builds it for guide
// 004 and then some: a provider VPC (zones a, b) with a database instance in b
// behind two load balancers, a consumer VPC with the same CIDR (zones a, b, c)
// with an endpoint in every zone, one in zone c only and one without ENIs yet,
// security groups that refer to each other, a target group no listener uses
// and a member set no rule refers to.
func region() agent.State {
	pa := netns.Subnet{ID: "subnet-pa", CIDR: prefix("10.0.1.0/24"), AZ: zoneA}
	pb := netns.Subnet{ID: "subnet-pb", CIDR: prefix("10.0.2.0/24"), AZ: zoneB}
	ca := netns.Subnet{ID: "subnet-ca", CIDR: prefix("10.0.1.0/24"), AZ: zoneA}
	cb := netns.Subnet{ID: "subnet-cb", CIDR: prefix("10.0.2.0/24"), AZ: zoneB}
	cc := netns.Subnet{ID: "subnet-cc", CIDR: prefix("10.0.3.0/24"), AZ: zoneC}
	dbRules := firewall.Rules{
		Ingress: []firewall.Rule{{Protocol: "tcp", FromPort: 3306, ToPort: 3306, Group: "sg-nlb"}},
		Egress:  []firewall.Rule{{Protocol: "all", FromPort: -1, ToPort: -1, Prefixes: []netip.Prefix{prefix("0.0.0.0/0")}}},
	}
	appRules := firewall.Rules{Egress: []firewall.Rule{{Protocol: "all", FromPort: -1, ToPort: -1, Prefixes: []netip.Prefix{prefix("0.0.0.0/0")}}}}
	epRules := firewall.Rules{Ingress: []firewall.Rule{{Protocol: "tcp", FromPort: 3306, ToPort: 3306, Group: "sg-app"}}}
	nlbRules := &firewall.Rules{Ingress: []firewall.Rule{{Protocol: "tcp", FromPort: 0, ToPort: 65535, Prefixes: []netip.Prefix{prefix("10.0.0.0/16")}}}}
	hc := dataplane.HealthCheck{Enabled: true, Protocol: "TCP", Interval: 10 * time.Second, Timeout: 5 * time.Second, HealthyThreshold: 3, UnhealthyThreshold: 3, Port: 3306}
	return agent.State{
		VPCs: []agent.VPC{
			{VPC: netns.VPC{ID: "vpc-p", CIDR: prefix("10.0.0.0/16"), Subnets: []netns.Subnet{pa, pb}, TransitIP: ip("169.254.1.1")},
				DNS: map[string][]netip.Addr{
					"ip-10-0-2-20.ec2.internal.":                        {ip("10.0.2.20")},
					"db-0123456789abcdef.elb.us-east-1.amazonaws.com.":  {ip("10.0.1.5"), ip("10.0.2.5")},
					"web-0123456789abcdef.elb.us-east-1.amazonaws.com.": {ip("10.0.2.6")},
				}},
			{VPC: netns.VPC{ID: "vpc-c", CIDR: prefix("10.0.0.0/16"), Subnets: []netns.Subnet{ca, cb, cc}, TransitIP: ip("169.254.1.2")},
				DNS: map[string][]netip.Addr{
					"ip-10-0-1-10.ec2.internal.":                                     {ip("10.0.1.10")},
					"ip-10-0-3-10.ec2.internal.":                                     {ip("10.0.3.10")},
					"vpce-1-abc.vpce-svc-1.us-east-1.vpce.amazonaws.com.":            {ip("10.0.1.50"), ip("10.0.2.50"), ip("10.0.3.50")},
					"vpce-1-abc-us-east-1a.vpce-svc-1.us-east-1.vpce.amazonaws.com.": {ip("10.0.1.50")},
					"db.example.com.":                                                {ip("10.0.1.50"), ip("10.0.2.50"), ip("10.0.3.50")},
				}},
			{VPC: netns.VPC{ID: "vpc-empty", CIDR: prefix("172.31.0.0/16")}, DNS: map[string][]netip.Addr{}},
		},
		Instances: []agent.Instance{
			{Instance: netns.Instance{ID: "i-db", VpcID: "vpc-p", SubnetID: "subnet-pb", IP: ip("10.0.2.20")}, Firewall: dbRules},
			{Instance: netns.Instance{ID: "i-app", VpcID: "vpc-c", SubnetID: "subnet-ca", IP: ip("10.0.1.10")}, Firewall: appRules},
			{Instance: netns.Instance{ID: "i-app2", VpcID: "vpc-c", SubnetID: "subnet-cc", IP: ip("10.0.3.10")}, Firewall: appRules},
		},
		Endpoints: []agent.Endpoint{
			{ID: "vpce-1", VpcID: "vpc-c", ServiceID: "vpce-svc-1", LoadBalancers: []string{"arn:lb/db"}, Open: true, Firewall: epRules,
				ENIs: []netns.ENI{
					{ID: "eni-1a", SubnetID: "subnet-ca", AZ: zoneA, IP: ip("10.0.1.50")},
					{ID: "eni-1b", SubnetID: "subnet-cb", AZ: zoneB, IP: ip("10.0.2.50")},
					{ID: "eni-1c", SubnetID: "subnet-cc", AZ: zoneC, IP: ip("10.0.3.50")},
				}},
			{ID: "vpce-2", VpcID: "vpc-c", ServiceID: "vpce-svc-2", LoadBalancers: []string{"arn:lb/web"}, Open: true, Firewall: appRules,
				ENIs: []netns.ENI{{ID: "eni-2c", SubnetID: "subnet-cc", AZ: zoneC, IP: ip("10.0.3.51")}}},
			{ID: "vpce-3", VpcID: "vpc-c", ServiceID: "vpce-svc-1", LoadBalancers: []string{"arn:lb/db"}},
		},
		LoadBalancers: []agent.LoadBalancer{
			{LoadBalancer: dataplane.LoadBalancer{ARN: "arn:lb/db", VpcID: "vpc-p", ServiceID: "vpce-svc-1", CrossZone: true,
				Nodes:     []dataplane.Node{{AZ: zoneA, IP: ip("10.0.1.5")}, {AZ: zoneB, IP: ip("10.0.2.5")}},
				Listeners: []dataplane.Listener{{Port: 3306, TargetGroup: "arn:tg/db", IdleTimeout: 350 * time.Second}}},
				ENIs: []netns.ENI{
					{ID: "eni-nlb-a", SubnetID: "subnet-pa", AZ: zoneA, IP: ip("10.0.1.5")},
					{ID: "eni-nlb-b", SubnetID: "subnet-pb", AZ: zoneB, IP: ip("10.0.2.5")},
				},
				Transit:  []netip.Addr{ip("169.254.2.1"), ip("169.254.2.2")},
				Firewall: nlbRules, EnforceOnPrivateLink: true},
			{LoadBalancer: dataplane.LoadBalancer{ARN: "arn:lb/web", VpcID: "vpc-p", ServiceID: "vpce-svc-2",
				Nodes:     []dataplane.Node{{AZ: zoneB, IP: ip("10.0.2.6")}},
				Listeners: []dataplane.Listener{{Port: 80, TargetGroup: "arn:tg/web"}, {Port: 3306, TargetGroup: "arn:tg/db"}}},
				ENIs:    []netns.ENI{{ID: "eni-web-b", SubnetID: "subnet-pb", AZ: zoneB, IP: ip("10.0.2.6")}},
				Transit: []netip.Addr{{}}}, // no transit address yet
		},
		TargetGroups: []dataplane.TargetGroup{
			{ARN: "arn:tg/db", VpcID: "vpc-p", HealthCheck: hc, Targets: []dataplane.Target{{ID: "i-db", Addr: netip.MustParseAddrPort("10.0.2.20:3306"), AZ: zoneB}}},
			{ARN: "arn:tg/web", VpcID: "vpc-p", ProxyProtocolV2: true, HealthCheck: hc},
			{ARN: "arn:tg/spare", VpcID: "vpc-p", HealthCheck: hc},
		},
		Groups: map[string][]netip.Addr{
			"sg-nlb":   {ip("10.0.1.5"), ip("10.0.2.5")},
			"sg-app":   {ip("10.0.1.10"), ip("10.0.3.10")},
			"sg-spare": {ip("10.0.2.99")},
		},
	}
}
