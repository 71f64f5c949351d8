package awsapi

import (
	"context"
	"fmt"

	"strait/internal/control/network"
	"strait/internal/model"
)

// IpPermission is the EC2 IpPermission shape: one protocol and port range with
// its peers.
type IpPermission struct {
	IpProtocol       string
	FromPort         *int32
	ToPort           *int32
	UserIdGroupPairs []UserIdGroupPair
	IpRanges         []IpRange
	Ipv6Ranges       []Ipv6Range
	PrefixListIds    []PrefixListId
}

// IpRange is an IPv4 peer.
type IpRange struct {
	CidrIp      string
	Description string
}

// Ipv6Range is an IPv6 peer.
type Ipv6Range struct {
	CidrIpv6    string
	Description string
}

// PrefixListId is a prefix-list peer.
type PrefixListId struct {
	PrefixListId string
	Description  string
}

// UserIdGroupPair is a security-group peer.
type UserIdGroupPair struct {
	GroupId     string
	GroupName   string
	UserId      string
	Description string
}

// SecurityGroupRule is the EC2 SecurityGroupRule shape.
type SecurityGroupRule struct {
	SecurityGroupRuleId  string
	GroupId              string
	GroupOwnerId         string
	IsEgress             bool
	IpProtocol           string
	FromPort             int32
	ToPort               int32
	CidrIpv4             string
	CidrIpv6             string
	PrefixListId         string
	ReferencedGroupInfo  *ReferencedSecurityGroup
	Description          string
	Tags                 []Tag
	SecurityGroupRuleArn string
}

// ReferencedSecurityGroup is the group a rule refers to.
type ReferencedSecurityGroup struct {
	GroupId string
	UserId  string
}

// RevokedSecurityGroupRule is a rule that a revoke removed.
type RevokedSecurityGroupRule struct {
	SecurityGroupRuleId string
	GroupId             string
	IsEgress            bool
	IpProtocol          string
	FromPort            int32
	ToPort              int32
	CidrIpv4            string
	CidrIpv6            string
	PrefixListId        string
	ReferencedGroupId   string
	Description         string
}

// hasPorts reports whether EC2 shows a port range for a protocol.
func hasPorts(proto string) bool {
	switch proto {
	case "tcp", "udp", "icmp", "icmpv6":
		return true
	}
	return false
}

// ipPermissions renders one direction of a group's rules as EC2 does: one
// IpPermission per (protocol, from, to), in order of first appearance, listing
// its peers; ports are left out for protocols that have none.
func ipPermissions(rules []model.SGRule, egress bool) []IpPermission {
	out := []IpPermission{}
	index := map[string]int{}
	for _, r := range rules {
		if r.Egress != egress {
			continue
		}
		k := fmt.Sprintf("%s|%d|%d", r.Protocol, r.FromPort, r.ToPort)
		i, ok := index[k]
		if !ok {
			p := IpPermission{IpProtocol: r.Protocol, UserIdGroupPairs: []UserIdGroupPair{}, IpRanges: []IpRange{}, Ipv6Ranges: []Ipv6Range{}, PrefixListIds: []PrefixListId{}}
			if hasPorts(r.Protocol) {
				from, to := r.FromPort, r.ToPort
				p.FromPort, p.ToPort = &from, &to
			}
			i = len(out)
			index[k] = i
			out = append(out, p)
		}
		p := &out[i]
		switch {
		case r.CIDR != "":
			p.IpRanges = append(p.IpRanges, IpRange{CidrIp: r.CIDR, Description: r.Description})
		case r.CIDRv6 != "":
			p.Ipv6Ranges = append(p.Ipv6Ranges, Ipv6Range{CidrIpv6: r.CIDRv6, Description: r.Description})
		case r.PrefixListID != "":
			p.PrefixListIds = append(p.PrefixListIds, PrefixListId{PrefixListId: r.PrefixListID, Description: r.Description})
		case r.GroupID != "":
			p.UserIdGroupPairs = append(p.UserIdGroupPairs, UserIdGroupPair{GroupId: r.GroupID, UserId: r.GroupOwner, Description: r.Description})
		}
	}
	return out
}

func (a *API) toSecurityGroupRule(groupID, owner string, r model.SGRule) SecurityGroupRule {
	out := SecurityGroupRule{
		SecurityGroupRuleId: r.ID, GroupId: groupID, GroupOwnerId: owner, IsEgress: r.Egress,
		IpProtocol: r.Protocol, FromPort: r.FromPort, ToPort: r.ToPort, CidrIpv4: r.CIDR, CidrIpv6: r.CIDRv6,
		PrefixListId: r.PrefixListID, Description: r.Description, Tags: ec2Tags(r.Tags),
		SecurityGroupRuleArn: fmt.Sprintf("arn:aws:ec2:%s:%s:security-group-rule/%s", a.ctl.Region(), owner, r.ID),
	}
	if r.GroupID != "" {
		out.ReferencedGroupInfo = &ReferencedSecurityGroup{GroupId: r.GroupID, UserId: r.GroupOwner}
	}
	return out
}

func toRevokedRule(groupID string, r model.SGRule) RevokedSecurityGroupRule {
	return RevokedSecurityGroupRule{
		SecurityGroupRuleId: r.ID, GroupId: groupID, IsEgress: r.Egress, IpProtocol: r.Protocol,
		FromPort: r.FromPort, ToPort: r.ToPort, CidrIpv4: r.CIDR, CidrIpv6: r.CIDRv6,
		PrefixListId: r.PrefixListID, ReferencedGroupId: r.GroupID, Description: r.Description,
	}
}

// ruleSpecs flattens IpPermissions into one spec per peer.
func ruleSpecs(perms []IpPermission) ([]network.RuleSpec, error) {
	var out []network.RuleSpec
	for _, p := range perms {
		base := network.RuleSpec{Protocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort}
		n := len(out)
		for _, r := range p.IpRanges {
			s := base
			s.CIDR, s.Description = r.CidrIp, r.Description
			out = append(out, s)
		}
		for _, r := range p.Ipv6Ranges {
			s := base
			s.CIDRv6, s.Description = r.CidrIpv6, r.Description
			out = append(out, s)
		}
		for _, r := range p.PrefixListIds {
			s := base
			s.PrefixListID, s.Description = r.PrefixListId, r.Description
			out = append(out, s)
		}
		for _, r := range p.UserIdGroupPairs {
			s := base
			s.GroupID, s.GroupName, s.GroupOwner, s.Description = r.GroupId, r.GroupName, r.UserId, r.Description
			out = append(out, s)
		}
		if len(out) == n {
			return nil, model.Missingf("An IpPermission must name at least one source or destination (IpRanges, Ipv6Ranges, PrefixListIds or UserIdGroupPairs)")
		}
	}
	return out, nil
}

// legacyRule is the single rule of the top-level form (CidrIp, IpProtocol, FromPort,
// ToPort, SourceSecurityGroupName, SourceSecurityGroupOwnerId).
type legacyRule struct {
	CidrIp                     string
	IpProtocol                 string
	FromPort                   *int32
	ToPort                     *int32
	SourceSecurityGroupName    string
	SourceSecurityGroupOwnerId string
}

func (l legacyRule) given() bool {
	return l.CidrIp != "" || l.IpProtocol != "" || l.SourceSecurityGroupName != "" || l.SourceSecurityGroupOwnerId != "" || l.FromPort != nil || l.ToPort != nil
}

// ruleRequest holds the members that the authorize and revoke requests share: the
// group and its rules, as IpPermissions or in the top-level form. The requests
// embed it; the decoder fills promoted fields like the others.
type ruleRequest struct {
	GroupId       string
	IpPermissions []IpPermission
	legacyRule
	DryRun bool
}

// specs returns the rules of a request: IpPermissions or the top-level form, not both.
func (r ruleRequest) specs() ([]network.RuleSpec, error) {
	l := r.legacyRule
	if !l.given() {
		return ruleSpecs(r.IpPermissions)
	}
	if len(r.IpPermissions) > 0 {
		return nil, model.WithReason(model.ErrInvalid, model.ReasonParameterCombination, "The parameter IpPermissions cannot be used with the parameters CidrIp, IpProtocol, FromPort, ToPort or SourceSecurityGroupName")
	}
	s := network.RuleSpec{Protocol: l.IpProtocol, FromPort: l.FromPort, ToPort: l.ToPort, CIDR: l.CidrIp,
		GroupName: l.SourceSecurityGroupName, GroupOwner: l.SourceSecurityGroupOwnerId}
	if s.Protocol == "" && s.GroupName != "" && l.FromPort == nil && l.ToPort == nil {
		s.Protocol = "-1"
	}
	return []network.RuleSpec{s}, nil
}

type authorizeSecurityGroupIngressRequest struct {
	ruleRequest
	GroupName         string
	TagSpecifications []TagSpecification
}

type authorizeSecurityGroupEgressRequest struct {
	ruleRequest
	TagSpecifications []TagSpecification
}

type authorizeResponse struct {
	Return             bool
	SecurityGroupRules []SecurityGroupRule
}

func (a *API) authorizeSecurityGroupIngress(ctx context.Context, c *caller, req *authorizeSecurityGroupIngressRequest) (*authorizeResponse, error) {
	id, err := a.groupID(ctx, c, req.GroupId, req.GroupName)
	if err != nil {
		return nil, err
	}
	return a.authorize(ctx, c, id, false, req.ruleRequest, req.TagSpecifications)
}

func (a *API) authorizeSecurityGroupEgress(ctx context.Context, c *caller, req *authorizeSecurityGroupEgressRequest) (*authorizeResponse, error) {
	return a.authorize(ctx, c, req.GroupId, true, req.ruleRequest, req.TagSpecifications)
}

func (a *API) authorize(ctx context.Context, c *caller, groupID string, egress bool, r ruleRequest, specs []TagSpecification) (*authorizeResponse, error) {
	tags, err := tagsFor(specs, "security-group-rule")
	if err != nil {
		return nil, err
	}
	rs, err := r.specs()
	if err != nil {
		return nil, err
	}
	added, err := a.ctl.AuthorizeSecurityGroupRules(ctx, c.Account, groupID, egress, rs, tags)
	if err != nil {
		return nil, err
	}
	return &authorizeResponse{Return: true, SecurityGroupRules: convert(added, func(rule model.SGRule) SecurityGroupRule {
		return a.toSecurityGroupRule(groupID, c.Account, rule)
	})}, nil
}

type revokeSecurityGroupIngressRequest struct {
	ruleRequest
	GroupName            string
	SecurityGroupRuleIds []string
}

type revokeSecurityGroupEgressRequest struct {
	ruleRequest
	SecurityGroupRuleIds []string
}

type revokeResponse struct {
	Return                    bool
	RevokedSecurityGroupRules []RevokedSecurityGroupRule
}

func (a *API) revokeSecurityGroupIngress(ctx context.Context, c *caller, req *revokeSecurityGroupIngressRequest) (*revokeResponse, error) {
	id, err := a.groupID(ctx, c, req.GroupId, req.GroupName)
	if err != nil {
		return nil, err
	}
	return a.revoke(ctx, c, id, false, req.ruleRequest, req.SecurityGroupRuleIds)
}

func (a *API) revokeSecurityGroupEgress(ctx context.Context, c *caller, req *revokeSecurityGroupEgressRequest) (*revokeResponse, error) {
	return a.revoke(ctx, c, req.GroupId, true, req.ruleRequest, req.SecurityGroupRuleIds)
}

func (a *API) revoke(ctx context.Context, c *caller, groupID string, egress bool, r ruleRequest, ruleIDs []string) (*revokeResponse, error) {
	rs, err := r.specs()
	if err != nil {
		return nil, err
	}
	removed, err := a.ctl.RevokeSecurityGroupRules(ctx, c.Account, groupID, egress, rs, ruleIDs)
	if err != nil {
		return nil, err
	}
	return &revokeResponse{Return: true, RevokedSecurityGroupRules: convert(removed, func(rule model.SGRule) RevokedSecurityGroupRule {
		return toRevokedRule(groupID, rule)
	})}, nil
}

type describeSecurityGroupRulesRequest struct {
	SecurityGroupRuleIds []string
	Filters              []Filter
	MaxResults           int32
	NextToken            string
	DryRun               bool
}

type describeSecurityGroupRulesResponse struct {
	SecurityGroupRules []SecurityGroupRule
	NextToken          string
}

// groupRule is a rule with the group that holds it.
type groupRule struct {
	group model.SecurityGroup
	rule  model.SGRule
}

var sgRuleFilters = filterFuncs[groupRule]{
	"group-id":               func(r groupRule) []string { return []string{r.group.ID} },
	"security-group-rule-id": func(r groupRule) []string { return []string{r.rule.ID} },
}

func (a *API) describeSecurityGroupRules(ctx context.Context, c *caller, req *describeSecurityGroupRulesRequest) (*describeSecurityGroupRulesResponse, error) {
	if err := checkRuleFilters(req.Filters); err != nil {
		return nil, err
	}
	groups, err := a.ctl.SecurityGroups(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	var all []groupRule
	for _, g := range groups {
		for _, r := range g.Rules {
			all = append(all, groupRule{g, r})
		}
	}
	rules, next, err := describe(all, query[groupRule]{
		IDs: req.SecurityGroupRuleIds, Kind: model.KindRule, IDOf: func(r groupRule) string { return r.rule.ID },
		Filters: req.Filters, Funcs: sgRuleFilters, TagsOf: func(r groupRule) model.Tags { return r.rule.Tags },
		MaxResults: req.MaxResults, NextToken: req.NextToken,
	}, func(r groupRule) SecurityGroupRule { return a.toSecurityGroupRule(r.group.ID, r.group.Owner, r.rule) })
	if err != nil {
		return nil, err
	}
	return &describeSecurityGroupRulesResponse{SecurityGroupRules: rules, NextToken: next}, nil
}
