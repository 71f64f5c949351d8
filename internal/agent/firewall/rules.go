package firewall

import "net/netip"

// Rules is the union of the rules of a set of security groups. Rules that
// reference groups name them (Rule.Group); the members of those groups are
// given with the rules when they are applied.
type Rules struct {
	Ingress []Rule
	Egress  []Rule
	// AlsoIngress, when set, must admit inbound traffic too: the rules of a load
	// balancer's security groups that PrivateLink traffic to its endpoints must
	// also pass (EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic), evaluated
	// on the client's address.
	AlsoIngress []Rule
}

// Rule allows traffic of a protocol and port range from (ingress) or to (egress)
// a set of prefixes, or the members of a security group.
type Rule struct {
	Protocol string // "tcp", "udp", "icmp", "all", or a protocol number
	FromPort int32  // tcp/udp: port range; icmp: type (-1 all)
	ToPort   int32  // tcp/udp: port range; icmp: code (-1 all)
	Prefixes []netip.Prefix
	// Group, when set, is the security group whose members the rule admits;
	// Prefixes are then not used. Members come and go without changing the
	// rule.
	Group string
}
