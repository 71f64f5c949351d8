package awsapi

import (
	"context"
)

// ensureDefaultVpc sets up the caller's default VPC on its first EC2 request
// (control.EnsureDefaultVpc), once per account and process.
func (a *API) ensureDefaultVpc(ctx context.Context, svc *service, acct string) error {
	if svc.name != "ec2" {
		return nil
	}
	if _, done := a.defaultVpcs.Load(acct); done {
		return nil
	}
	if err := a.ctl.EnsureDefaultVpc(ctx, acct); err != nil {
		return err
	}
	a.defaultVpcs.Store(acct, true)
	return nil
}

func (a *API) defaultVpcActions() map[string]handler {
	return map[string]handler{
		"CreateDefaultVpc":    bind(a.createDefaultVpc),
		"CreateDefaultSubnet": bind(a.createDefaultSubnet),
	}
}

type createDefaultVpcRequest struct {
	DryRun bool
}

func (a *API) createDefaultVpc(ctx context.Context, c *caller, req *createDefaultVpcRequest) (*createVpcResponse, error) {
	v, err := a.ctl.CreateDefaultVpc(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	return &createVpcResponse{Vpc: toVpc(v)}, nil
}

type createDefaultSubnetRequest struct {
	AvailabilityZone   string
	AvailabilityZoneId string
	Ipv6Native         bool
	DryRun             bool
}

func (a *API) createDefaultSubnet(ctx context.Context, c *caller, req *createDefaultSubnetRequest) (*createSubnetResponse, error) {
	if err := ipv4Only("CreateDefaultSubnet", map[string]bool{"Ipv6Native": req.Ipv6Native}); err != nil {
		return nil, err
	}
	az := req.AvailabilityZone
	if az == "" {
		az = req.AvailabilityZoneId
	}
	s, err := a.ctl.CreateDefaultSubnet(ctx, c.Account, az)
	if err != nil {
		return nil, err
	}
	return &createSubnetResponse{Subnet: a.toSubnet(s)}, nil
}
