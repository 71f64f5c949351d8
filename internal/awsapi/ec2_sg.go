package awsapi

import (
	"context"
	"fmt"
	"strconv"

	"strait/internal/control/network"
	"strait/internal/model"
)

// SecurityGroup is the EC2 SecurityGroup shape.
type SecurityGroup struct {
	GroupId             string
	GroupName           string
	Description         string
	OwnerId             string
	VpcId               string
	SecurityGroupArn    string
	IpPermissions       []IpPermission
	IpPermissionsEgress []IpPermission
	Tags                []Tag
}

func (a *API) sgARN(owner, id string) string {
	return fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", a.ctl.Region(), owner, id)
}

func (a *API) toSecurityGroup(g model.SecurityGroup) SecurityGroup {
	return SecurityGroup{
		GroupId: g.ID, GroupName: g.Name, Description: g.Description, OwnerId: g.Owner, VpcId: g.VpcID,
		SecurityGroupArn: a.sgARN(g.Owner, g.ID),
		IpPermissions:    ipPermissions(g.Rules, false), IpPermissionsEgress: ipPermissions(g.Rules, true),
		Tags: ec2Tags(g.Tags),
	}
}

func (a *API) sgActions() map[string]handler {
	return map[string]handler{
		"CreateSecurityGroup":           bind(a.createSecurityGroup),
		"DescribeSecurityGroups":        bind(a.describeSecurityGroups),
		"DeleteSecurityGroup":           bind(a.deleteSecurityGroup),
		"AuthorizeSecurityGroupIngress": bind(a.authorizeSecurityGroupIngress),
		"AuthorizeSecurityGroupEgress":  bind(a.authorizeSecurityGroupEgress),
		"RevokeSecurityGroupIngress":    bind(a.revokeSecurityGroupIngress),
		"RevokeSecurityGroupEgress":     bind(a.revokeSecurityGroupEgress),
		"DescribeSecurityGroupRules":    bind(a.describeSecurityGroupRules),
	}
}

type createSecurityGroupRequest struct {
	GroupName         string
	Description       string
	VpcId             string
	TagSpecifications []TagSpecification
	DryRun            bool
}

type createSecurityGroupResponse struct {
	GroupId          string
	SecurityGroupArn string
	Tags             []Tag
}

func (a *API) createSecurityGroup(ctx context.Context, c *caller, req *createSecurityGroupRequest) (*createSecurityGroupResponse, error) {
	tags, err := tagsFor(req.TagSpecifications, "security-group")
	if err != nil {
		return nil, err
	}
	g, err := a.ctl.CreateSecurityGroup(ctx, c.Account, network.CreateSecurityGroupInput{
		Name: req.GroupName, Description: req.Description, VpcID: req.VpcId, Tags: tags,
	})
	if err != nil {
		return nil, err
	}
	return &createSecurityGroupResponse{GroupId: g.ID, SecurityGroupArn: a.sgARN(g.Owner, g.ID), Tags: ec2Tags(g.Tags)}, nil
}

type describeSecurityGroupsRequest struct {
	GroupIds   []string
	GroupNames []string
	Filters    []Filter
	MaxResults int32
	NextToken  string
	DryRun     bool
}

type describeSecurityGroupsResponse struct {
	SecurityGroups []SecurityGroup
	NextToken      string
}

// sgFilters are DescribeSecurityGroups' filters; names resolves group IDs to names
// for the ip-permission.group-name filters.
func sgFilters(names map[string]string) filterFuncs[model.SecurityGroup] {
	f := filterFuncs[model.SecurityGroup]{
		"group-id":    func(g model.SecurityGroup) []string { return []string{g.ID} },
		"group-name":  func(g model.SecurityGroup) []string { return []string{g.Name} },
		"description": func(g model.SecurityGroup) []string { return []string{g.Description} },
		"owner-id":    func(g model.SecurityGroup) []string { return []string{g.Owner} },
		"vpc-id":      func(g model.SecurityGroup) []string { return []string{g.VpcID} },
	}
	for _, dir := range []struct {
		prefix string
		egress bool
	}{{"ip-permission.", false}, {"egress.ip-permission.", true}} {
		rules := func(g model.SecurityGroup, val func(model.SGRule) string) []string {
			var out []string
			for _, r := range g.Rules {
				if r.Egress == dir.egress {
					if v := val(r); v != "" {
						out = append(out, v)
					}
				}
			}
			return out
		}
		field := func(val func(model.SGRule) string) func(model.SecurityGroup) []string {
			return func(g model.SecurityGroup) []string { return rules(g, val) }
		}
		f[dir.prefix+"cidr"] = field(func(r model.SGRule) string { return r.CIDR })
		f[dir.prefix+"ipv6-cidr"] = field(func(r model.SGRule) string { return r.CIDRv6 })
		f[dir.prefix+"prefix-list-id"] = field(func(r model.SGRule) string { return r.PrefixListID })
		f[dir.prefix+"group-id"] = field(func(r model.SGRule) string { return r.GroupID })
		f[dir.prefix+"group-name"] = field(func(r model.SGRule) string { return names[r.GroupID] })
		f[dir.prefix+"user-id"] = field(func(r model.SGRule) string { return r.GroupOwner })
		f[dir.prefix+"protocol"] = field(func(r model.SGRule) string { return r.Protocol })
		f[dir.prefix+"from-port"] = field(func(r model.SGRule) string { return strconv.Itoa(int(r.FromPort)) })
		f[dir.prefix+"to-port"] = field(func(r model.SGRule) string { return strconv.Itoa(int(r.ToPort)) })
	}
	return f
}

func (a *API) describeSecurityGroups(ctx context.Context, c *caller, req *describeSecurityGroupsRequest) (*describeSecurityGroupsResponse, error) {
	all, err := a.ctl.SecurityGroups(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	if err := checkIDs(model.KindSecurityGroup, model.PrefixSG, req.GroupIds); err != nil {
		return nil, err
	}
	id := func(g model.SecurityGroup) string { return g.ID }
	items, err := byIDs(all, req.GroupIds, id, model.KindSecurityGroup)
	if err != nil {
		return nil, renameNotFound(err, "The security group '%s' does not exist")
	}
	if len(req.GroupNames) > 0 {
		var named []model.SecurityGroup
		for _, name := range req.GroupNames {
			found := false
			for _, g := range items {
				if g.Name == name {
					named, found = append(named, g), true
				}
			}
			if !found {
				return nil, &model.Error{Err: model.ErrNotFound, Kind: model.KindSecurityGroup, ID: name,
					Msg: fmt.Sprintf("The security group '%s' does not exist", name)}
			}
		}
		items = named
	}
	names := map[string]string{}
	for _, g := range all {
		names[g.ID] = g.Name
	}
	// IDs and names are selected above: the names apply to the groups of the IDs.
	groups, next, err := describe(items, query[model.SecurityGroup]{
		IDOf: id, Filters: req.Filters, Funcs: sgFilters(names), TagsOf: func(g model.SecurityGroup) model.Tags { return g.Tags },
		MaxResults: req.MaxResults, NextToken: req.NextToken,
	}, a.toSecurityGroup)
	if err != nil {
		return nil, err
	}
	return &describeSecurityGroupsResponse{SecurityGroups: groups, NextToken: next}, nil
}

type deleteSecurityGroupRequest struct {
	GroupId   string
	GroupName string
	DryRun    bool
}

type deleteSecurityGroupResponse struct {
	Return  bool
	GroupId string
}

func (a *API) deleteSecurityGroup(ctx context.Context, c *caller, req *deleteSecurityGroupRequest) (*deleteSecurityGroupResponse, error) {
	id, err := a.groupID(ctx, c, req.GroupId, req.GroupName)
	if err != nil {
		return nil, err
	}
	if err := a.ctl.DeleteSecurityGroup(ctx, c.Account, id); err != nil {
		return nil, err
	}
	return &deleteSecurityGroupResponse{Return: true, GroupId: id}, nil
}

// groupID resolves a request's GroupId or GroupName to a group ID.
func (a *API) groupID(ctx context.Context, c *caller, id, name string) (string, error) {
	switch {
	case id != "" && name != "":
		return "", model.WithReason(model.ErrInvalid, model.ReasonParameterCombination, "The parameter 'GroupName' may not be used in combination with 'GroupId'")
	case id != "":
		return id, nil
	case name != "":
		g, err := a.ctl.SecurityGroupByName(ctx, c.Account, name)
		return g.ID, err
	}
	return "", model.Missingf("The request must contain the parameter groupName or groupId")
}
