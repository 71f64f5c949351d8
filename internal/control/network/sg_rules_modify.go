package network

import (
	"context"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// RuleUpdate replaces one rule of a group, by ID, with a new definition
// (ModifySecurityGroupRules).
type RuleUpdate struct {
	RuleID string
	Rule   RuleSpec
}

// ModifySecurityGroupRules replaces rules of one of the account's groups in place:
// each keeps its ID, direction and tags and takes the new protocol, ports, peer and
// description; all or none
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifySecurityGroupRules.html).
// The data plane applies the new rules like any change of the group.
func (c *Network) ModifySecurityGroupRules(ctx context.Context, acct, groupID string, updates []RuleUpdate) error {
	if _, err := c.SecurityGroup(ctx, acct, groupID); err != nil {
		return err
	}
	if len(updates) == 0 {
		return model.Missing("SecurityGroupRule")
	}
	for _, u := range updates {
		if !model.ValidID(model.PrefixRule, u.RuleID) {
			return model.WithReason(model.ErrInvalid, model.ReasonMalformedRuleID, "The security group rule ID '%s' is malformed", u.RuleID)
		}
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		g, err := core.TxGet[model.SecurityGroup](tx, model.KindSecurityGroup, groupID)
		if err != nil {
			return SGNotFound(groupID)
		}
		for _, u := range updates {
			i := ruleIndex(g.Rules, u.RuleID)
			if i < 0 {
				return model.NotFound(model.KindRule, u.RuleID)
			}
			old := g.Rules[i]
			r, err := resolveRule(tx, g, acct, old.Egress, u.Rule)
			if err != nil {
				return err
			}
			for j, other := range g.Rules {
				if j != i && other.Egress == r.Egress && ruleKey(other) == ruleKey(r) {
					return model.Duplicate(model.KindRule, "", "the specified rule %s already exists", describeRule(r))
				}
			}
			r.ID, r.Tags = old.ID, old.Tags
			g.Rules[i] = r
		}
		return tx.Put(core.Key(model.KindSecurityGroup, g.ID), g)
	})
}

// RuleDescription is a new description for a rule given by ID.
type RuleDescription struct {
	RuleID      string
	Description string
}

// UpdateSecurityGroupRuleDescriptions sets the descriptions of existing inbound
// (egress false) or outbound rules of one of the account's groups, named by their
// definition (with the new description in specs) or by ID; a rule that does not
// exist fails the whole request
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_UpdateSecurityGroupRuleDescriptionsIngress.html).
func (c *Network) UpdateSecurityGroupRuleDescriptions(ctx context.Context, acct, groupID string, egress bool, specs []RuleSpec, byID []RuleDescription) error {
	if _, err := c.SecurityGroup(ctx, acct, groupID); err != nil {
		return err
	}
	switch {
	case len(specs) > 0 && len(byID) > 0:
		return model.WithReason(model.ErrInvalid, model.ReasonParameterCombination, "The parameter SecurityGroupRuleDescriptions cannot be used together with IpPermissions")
	case len(specs) == 0 && len(byID) == 0:
		return model.Missingf("Either IpPermissions or SecurityGroupRuleDescriptions must be given")
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		g, err := core.TxGet[model.SecurityGroup](tx, model.KindSecurityGroup, groupID)
		if err != nil {
			return SGNotFound(groupID)
		}
		for _, d := range byID {
			i := ruleIndex(g.Rules, d.RuleID)
			if i < 0 || g.Rules[i].Egress != egress {
				return model.NotFound(model.KindRule, d.RuleID)
			}
			if err := checkRuleDescription(d.Description); err != nil {
				return err
			}
			g.Rules[i].Description = d.Description
		}
		for _, s := range specs {
			want, err := resolveRule(tx, g, acct, egress, s)
			if err != nil {
				return err
			}
			i := -1
			for j, r := range g.Rules {
				if r.Egress == egress && ruleKey(r) == ruleKey(want) {
					i = j
				}
			}
			if i < 0 {
				return model.WithReason(model.ErrNotFound, model.ReasonRuleNotFound, "The specified rule does not exist in this security group.")
			}
			g.Rules[i].Description = want.Description
		}
		return tx.Put(core.Key(model.KindSecurityGroup, g.ID), g)
	})
}

// ruleIndex is the index of the rule with the given ID, or -1.
func ruleIndex(rules []model.SGRule, id string) int {
	for i, r := range rules {
		if r.ID == id {
			return i
		}
	}
	return -1
}
