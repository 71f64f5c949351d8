package network

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// maxRulesPerDirection is EC2's default quota of inbound (and of outbound) rules per
// security group.
const maxRulesPerDirection = 60

// RuleSpec is one rule of an authorize or revoke request: a protocol, a port range
// (nil when not given) and exactly one peer — an IPv4 or IPv6 CIDR, a prefix list,
// or a security group by ID (GroupOwner optional) or, in the group's VPC, by name.
type RuleSpec struct {
	Protocol     string
	FromPort     *int32
	ToPort       *int32
	CIDR         string
	CIDRv6       string
	PrefixListID string
	GroupID      string
	GroupName    string
	GroupOwner   string
	Description  string
}

// AuthorizeSecurityGroupRules adds inbound (egress false) or outbound rules to one of
// the account's groups, all or none; tags go on every new rule. It returns the new
// rules.
func (c *Network) AuthorizeSecurityGroupRules(ctx context.Context, acct, groupID string, egress bool, specs []RuleSpec, tags model.Tags) ([]model.SGRule, error) {
	if _, err := c.SecurityGroup(ctx, acct, groupID); err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, model.Missingf("No permissions were specified: give IpPermissions or the protocol, ports and source of one rule")
	}
	var added []model.SGRule
	err := c.Update(ctx, func(tx *store.Tx) error {
		added = nil
		g, err := core.TxGet[model.SecurityGroup](tx, model.KindSecurityGroup, groupID)
		if err != nil {
			return SGNotFound(groupID)
		}
		have := map[string]bool{}
		count := 0
		for _, r := range g.Rules {
			if r.Egress == egress {
				have[ruleKey(r)] = true
				count++
			}
		}
		for _, s := range specs {
			r, err := resolveRule(tx, g, acct, egress, s)
			if err != nil {
				return err
			}
			if have[ruleKey(r)] {
				return model.Duplicate(model.KindRule, "", "the specified rule %s already exists", describeRule(r))
			}
			have[ruleKey(r)] = true
			if count++; count > maxRulesPerDirection {
				return model.WithReason(model.ErrLimit, model.ReasonRulesPerGroup, "The maximum number of rules per security group has been reached.")
			}
			r.ID = model.NewID(model.PrefixRule)
			r.Tags = tags.Clone()
			added = append(added, r)
		}
		g.Rules = append(g.Rules, added...)
		return tx.Put(core.Key(model.KindSecurityGroup, g.ID), g)
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

// RevokeSecurityGroupRules removes inbound (egress false) or outbound rules from one
// of the account's groups, given either as rules or as rule IDs; every one must
// exist, or nothing is removed. It returns the removed rules.
func (c *Network) RevokeSecurityGroupRules(ctx context.Context, acct, groupID string, egress bool, specs []RuleSpec, ruleIDs []string) ([]model.SGRule, error) {
	if _, err := c.SecurityGroup(ctx, acct, groupID); err != nil {
		return nil, err
	}
	switch {
	case len(specs) > 0 && len(ruleIDs) > 0:
		return nil, model.WithReason(model.ErrInvalid, model.ReasonParameterCombination, "The parameter SecurityGroupRuleIds cannot be used together with IpPermissions or the fields of a single rule")
	case len(specs) == 0 && len(ruleIDs) == 0:
		return nil, model.Missingf("No permissions were specified: give IpPermissions, SecurityGroupRuleIds or the protocol, ports and source of one rule")
	}
	for _, id := range ruleIDs {
		if !model.ValidID(model.PrefixRule, id) {
			return nil, model.WithReason(model.ErrInvalid, model.ReasonMalformedRuleID, "The security group rule ID '%s' is malformed", id)
		}
	}
	var removed []model.SGRule
	err := c.Update(ctx, func(tx *store.Tx) error {
		removed = nil
		g, err := core.TxGet[model.SecurityGroup](tx, model.KindSecurityGroup, groupID)
		if err != nil {
			return SGNotFound(groupID)
		}
		drop := map[string]bool{}
		if len(ruleIDs) > 0 {
			for _, id := range ruleIDs {
				r, ok := FindRule(g.Rules, func(r model.SGRule) bool { return r.ID == id && r.Egress == egress })
				if !ok {
					return model.NotFound(model.KindRule, id)
				}
				if !drop[r.ID] {
					drop[r.ID] = true
					removed = append(removed, r)
				}
			}
		}
		for _, s := range specs {
			want, err := resolveRule(tx, g, acct, egress, s)
			if err != nil {
				return err
			}
			k := ruleKey(want)
			r, ok := FindRule(g.Rules, func(r model.SGRule) bool { return r.Egress == egress && ruleKey(r) == k })
			if !ok {
				return model.WithReason(model.ErrNotFound, model.ReasonRuleNotFound, "The specified rule does not exist in this security group.")
			}
			if !drop[r.ID] {
				drop[r.ID] = true
				removed = append(removed, r)
			}
		}
		kept := g.Rules[:0:0]
		for _, r := range g.Rules {
			if !drop[r.ID] {
				kept = append(kept, r)
			}
		}
		g.Rules = kept
		return tx.Put(core.Key(model.KindSecurityGroup, g.ID), g)
	})
	if err != nil {
		return nil, err
	}
	return removed, nil
}

func FindRule(rules []model.SGRule, match func(model.SGRule) bool) (model.SGRule, bool) {
	for _, r := range rules {
		if match(r) {
			return r, true
		}
	}
	return model.SGRule{}, false
}

// resolveRule validates a rule spec against group g and returns it as a rule with
// its protocol, ports and peer in canonical form (no ID yet).
func resolveRule(tx *store.Tx, g model.SecurityGroup, acct string, egress bool, s RuleSpec) (model.SGRule, error) {
	r := model.SGRule{Egress: egress, Description: s.Description}
	proto, err := canonicalProtocol(s.Protocol)
	if err != nil {
		return r, err
	}
	r.Protocol = proto
	if r.FromPort, r.ToPort, err = rulePorts(proto, s.FromPort, s.ToPort); err != nil {
		return r, err
	}
	if err := checkRuleDescription(s.Description); err != nil {
		return r, err
	}
	peers := 0
	for _, p := range []string{s.CIDR, s.CIDRv6, s.PrefixListID, s.GroupID + s.GroupName} {
		if p != "" {
			peers++
		}
	}
	if peers != 1 {
		return r, model.Invalid("A rule needs exactly one peer: an IPv4 CIDR, an IPv6 CIDR, a prefix list or a security group")
	}
	switch {
	case s.CIDR != "":
		p, err := netip.ParsePrefix(s.CIDR)
		if err != nil || !p.Addr().Is4() {
			return r, model.Invalid("CIDR block %s is malformed", s.CIDR)
		}
		r.CIDR = p.Masked().String()
	case s.CIDRv6 != "":
		p, err := netip.ParsePrefix(s.CIDRv6)
		if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() {
			return r, model.Invalid("CIDR block %s is malformed", s.CIDRv6)
		}
		r.CIDRv6 = p.Masked().String()
	case s.PrefixListID != "":
		// Strait has no managed prefix lists, so no prefix list ID can exist.
		return r, model.WithReason(model.ErrNotFound, model.ReasonPrefixListNotFound, "The prefix list ID '%s' does not exist", s.PrefixListID)
	default:
		peer, err := resolvePeerGroup(tx, g, acct, s)
		if err != nil {
			return r, err
		}
		r.GroupID, r.GroupOwner = peer.ID, peer.Owner
	}
	return r, nil
}

// checkRuleDescription checks a rule's description: at most 255 characters of EC2's set.
func checkRuleDescription(d string) error {
	if len(d) > 255 {
		return model.Invalid("Invalid rule description: it must be at most 255 characters long.")
	}
	for _, ch := range d {
		if !strings.ContainsRune(sgNameChars, ch) {
			return model.Invalid("Invalid rule description. Valid descriptions are strings less than 256 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*")
		}
	}
	return nil
}

// resolvePeerGroup finds the security group a rule refers to. Without peering, a
// referenced group must be in the same VPC as g.
func resolvePeerGroup(tx *store.Tx, g model.SecurityGroup, acct string, s RuleSpec) (model.SecurityGroup, error) {
	owner := s.GroupOwner
	if owner == "" {
		owner = acct
	}
	id := s.GroupID
	if id == "" {
		var named string
		ok, err := tx.Get(sgNameIndex(g.VpcID, s.GroupName), &named)
		if err != nil {
			return model.SecurityGroup{}, err
		}
		if !ok {
			return model.SecurityGroup{}, &model.Error{Err: model.ErrNotFound, Kind: model.KindSecurityGroup, ID: s.GroupName,
				Msg: fmt.Sprintf("The security group '%s' does not exist in VPC '%s'", s.GroupName, g.VpcID)}
		}
		id = named
	}
	if err := model.CheckID(model.KindSecurityGroup, model.PrefixSG, id); err != nil {
		return model.SecurityGroup{}, err
	}
	if id == g.ID {
		return g, nil
	}
	peer, err := core.TxGet[model.SecurityGroup](tx, model.KindSecurityGroup, id)
	if err != nil || peer.Owner != owner {
		return model.SecurityGroup{}, SGNotFound(id)
	}
	if peer.VpcID != g.VpcID {
		return model.SecurityGroup{}, model.WithReason(model.ErrNotFound, model.ReasonGroupNotFound, "You have specified two resources that belong to different networks.")
	}
	return peer, nil
}

// canonicalProtocol returns the protocol as EC2 stores it: "tcp", "udp", "icmp",
// "icmpv6", "-1" for all, or another protocol number.
func canonicalProtocol(p string) (string, error) {
	p = strings.ToLower(strings.TrimSpace(p))
	switch p {
	case "tcp", "6":
		return "tcp", nil
	case "udp", "17":
		return "udp", nil
	case "icmp", "1":
		return "icmp", nil
	case "icmpv6", "58":
		return "icmpv6", nil
	case "-1", "all":
		return "-1", nil
	case "":
		return "", model.Missingf("The request must contain the parameter ipProtocol")
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 255 {
		return "", model.Invalid("Invalid value '%s' for IP protocol. Unknown protocol.", p)
	}
	return strconv.Itoa(n), nil
}

// rulePorts checks and defaults a rule's port range: TCP and UDP need both ports
// (0–65535, from ≤ to); ICMP takes a type and a code (-1 for any); other protocols
// cover every port.
func rulePorts(proto string, from, to *int32) (int32, int32, error) {
	switch proto {
	case "tcp", "udp":
		if from == nil || to == nil {
			return 0, 0, model.Invalid("Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange")
		}
		if *from < 0 || *to > 65535 || *from > *to {
			return 0, 0, model.Invalid("Invalid %s port range: from %d to %d (ports are 0-65535, from must not exceed to)", strings.ToUpper(proto), *from, *to)
		}
		return *from, *to, nil
	case "icmp", "icmpv6":
		t, code := int32(-1), int32(-1)
		if from != nil {
			t = *from
		}
		if to != nil {
			code = *to
		}
		if t < -1 || t > 255 || code < -1 || code > 255 {
			return 0, 0, model.Invalid("Invalid ICMP type or code: type %d, code %d", t, code)
		}
		return t, code, nil
	}
	return -1, -1, nil
}

// ruleKey identifies a rule for duplicate detection: everything but its ID,
// description and tags.
func ruleKey(r model.SGRule) string {
	return fmt.Sprintf("%t|%s|%d|%d|%s|%s|%s|%s", r.Egress, r.Protocol, r.FromPort, r.ToPort, r.CIDR, r.CIDRv6, r.PrefixListID, r.GroupID)
}

// describeRule words a rule as EC2 does in InvalidPermission.Duplicate.
func describeRule(r model.SGRule) string {
	peer := r.CIDR + r.CIDRv6 + r.PrefixListID + r.GroupID
	proto := strings.ToUpper(r.Protocol)
	if r.Protocol == "-1" {
		return fmt.Sprintf("\"peer: %s, ALL, ALLOW\"", peer)
	}
	return fmt.Sprintf("\"peer: %s, %s, from port: %d, to port: %d, ALLOW\"", peer, proto, r.FromPort, r.ToPort)
}
