package awsapi

import (
	"context"

	"strait/internal/model"
)

func (a *API) servicePermissionActions() map[string]handler {
	return map[string]handler{
		"ModifyVpcEndpointServicePermissions":   bind(a.modifyServicePermissions),
		"DescribeVpcEndpointServicePermissions": bind(a.describeServicePermissions),
	}
}

// AddedPrincipal is a principal that ModifyVpcEndpointServicePermissions allowed.
type AddedPrincipal struct {
	PrincipalType       string
	Principal           string
	ServicePermissionId string
	ServiceId           string
}

// AllowedPrincipal is one allowed principal of a service.
type AllowedPrincipal struct {
	PrincipalType       string
	Principal           string
	ServicePermissionId string
	Tags                []Tag
	ServiceId           string
}

type modifyServicePermissionsRequest struct {
	ServiceId               string
	AddAllowedPrincipals    []string
	RemoveAllowedPrincipals []string
	DryRun                  bool
}

type modifyServicePermissionsResponse struct {
	AddedPrincipals []AddedPrincipal
	ReturnValue     bool
}

func (a *API) modifyServicePermissions(ctx context.Context, c *caller, req *modifyServicePermissionsRequest) (*modifyServicePermissionsResponse, error) {
	added, err := a.ctl.ModifyServicePermissions(ctx, c.Account, req.ServiceId, req.AddAllowedPrincipals, req.RemoveAllowedPrincipals)
	if err != nil {
		return nil, err
	}
	out := &modifyServicePermissionsResponse{ReturnValue: true}
	for _, p := range added {
		out.AddedPrincipals = append(out.AddedPrincipals, AddedPrincipal{
			PrincipalType: p.Type, Principal: p.Principal, ServicePermissionId: p.ID, ServiceId: req.ServiceId,
		})
	}
	return out, nil
}

type describeServicePermissionsRequest struct {
	ServiceId  string
	Filters    []Filter
	MaxResults int32
	NextToken  string
	DryRun     bool
}

type describeServicePermissionsResponse struct {
	AllowedPrincipals []AllowedPrincipal
	NextToken         string
}

var permissionFilters = filterFuncs[model.Permission]{
	"principal":             func(p model.Permission) []string { return []string{p.Principal} },
	"principal-type":        func(p model.Permission) []string { return []string{p.Type} },
	"service-permission-id": func(p model.Permission) []string { return []string{p.ID} },
}

func (a *API) describeServicePermissions(ctx context.Context, c *caller, req *describeServicePermissionsRequest) (*describeServicePermissionsResponse, error) {
	svc, err := a.ctl.EndpointService(ctx, c.Account, req.ServiceId)
	if err != nil {
		return nil, err
	}
	principals, next, err := describe(svc.Principals, query[model.Permission]{
		IDOf:    func(p model.Permission) string { return p.ID },
		Filters: req.Filters, Funcs: permissionFilters, TagsOf: func(p model.Permission) model.Tags { return p.Tags },
		MaxResults: req.MaxResults, NextToken: req.NextToken, Clamp: true,
	}, func(p model.Permission) AllowedPrincipal {
		return AllowedPrincipal{
			PrincipalType: p.Type, Principal: p.Principal, ServicePermissionId: p.ID, Tags: ec2Tags(p.Tags), ServiceId: svc.ID,
		}
	})
	if err != nil {
		return nil, err
	}
	return &describeServicePermissionsResponse{AllowedPrincipals: principals, NextToken: next}, nil
}
