package awsapi

import (
	"context"

	"strait/internal/control/network"
	"strait/internal/model"
)

func (a *API) sgRuleUpdateActions() map[string]handler {
	return map[string]handler{
		"ModifySecurityGroupRules":                   bind(a.modifySecurityGroupRules),
		"UpdateSecurityGroupRuleDescriptionsIngress": bind(a.updateRuleDescriptionsIngress),
		"UpdateSecurityGroupRuleDescriptionsEgress":  bind(a.updateRuleDescriptionsEgress),
	}
}

// securityGroupRuleRequest is the EC2 SecurityGroupRuleRequest shape.
type securityGroupRuleRequest struct {
	IpProtocol        string
	FromPort          *int32
	ToPort            *int32
	CidrIpv4          string
	CidrIpv6          string
	PrefixListId      string
	ReferencedGroupId string
	Description       string
}

type securityGroupRuleUpdate struct {
	SecurityGroupRuleId string
	SecurityGroupRule   *securityGroupRuleRequest
}

type modifySecurityGroupRulesRequest struct {
	GroupId            string
	SecurityGroupRules []securityGroupRuleUpdate
	DryRun             bool
}

func (a *API) modifySecurityGroupRules(ctx context.Context, c *caller, req *modifySecurityGroupRulesRequest) (*returnResponse, error) {
	var updates []network.RuleUpdate
	for _, u := range req.SecurityGroupRules {
		if u.SecurityGroupRuleId == "" {
			return nil, model.Missing("SecurityGroupRuleId")
		}
		if u.SecurityGroupRule == nil {
			return nil, model.Missing("SecurityGroupRule")
		}
		r := u.SecurityGroupRule
		updates = append(updates, network.RuleUpdate{RuleID: u.SecurityGroupRuleId, Rule: network.RuleSpec{
			Protocol: r.IpProtocol, FromPort: r.FromPort, ToPort: r.ToPort, CIDR: r.CidrIpv4, CIDRv6: r.CidrIpv6,
			PrefixListID: r.PrefixListId, GroupID: r.ReferencedGroupId, Description: r.Description,
		}})
	}
	if err := a.ctl.ModifySecurityGroupRules(ctx, c.Account, req.GroupId, updates); err != nil {
		return nil, err
	}
	return &returnResponse{Return: true}, nil
}

type securityGroupRuleDescription struct {
	SecurityGroupRuleId string
	Description         string
}

type updateRuleDescriptionsRequest struct {
	GroupId                       string
	GroupName                     string
	IpPermissions                 []IpPermission
	SecurityGroupRuleDescriptions []securityGroupRuleDescription
	DryRun                        bool
}

func (a *API) updateRuleDescriptionsIngress(ctx context.Context, c *caller, req *updateRuleDescriptionsRequest) (*returnResponse, error) {
	return a.updateRuleDescriptions(ctx, c, req, false)
}

func (a *API) updateRuleDescriptionsEgress(ctx context.Context, c *caller, req *updateRuleDescriptionsRequest) (*returnResponse, error) {
	return a.updateRuleDescriptions(ctx, c, req, true)
}

func (a *API) updateRuleDescriptions(ctx context.Context, c *caller, req *updateRuleDescriptionsRequest, egress bool) (*returnResponse, error) {
	id, err := a.groupID(ctx, c, req.GroupId, req.GroupName)
	if err != nil {
		return nil, err
	}
	specs, err := ruleSpecs(req.IpPermissions)
	if err != nil {
		return nil, err
	}
	var byID []network.RuleDescription
	for _, d := range req.SecurityGroupRuleDescriptions {
		byID = append(byID, network.RuleDescription{RuleID: d.SecurityGroupRuleId, Description: d.Description})
	}
	if err := a.ctl.UpdateSecurityGroupRuleDescriptions(ctx, c.Account, id, egress, specs, byID); err != nil {
		return nil, err
	}
	return &returnResponse{Return: true}, nil
}
