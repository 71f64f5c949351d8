package awsapi

import (
	"context"
	"net/http"
	"sort"

	"strait/internal/model"
)

func (a *API) subnetAttributeActions() map[string]handler {
	return map[string]handler{
		"ModifySubnetAttribute": bind(a.modifySubnetAttribute),
	}
}

type modifySubnetAttributeRequest struct {
	SubnetId                                string
	MapPublicIpOnLaunch                     *AttributeBooleanValue
	AssignIpv6AddressOnCreation             *AttributeBooleanValue
	EnableDns64                             *AttributeBooleanValue
	EnableResourceNameDnsARecordOnLaunch    *AttributeBooleanValue
	EnableResourceNameDnsAAAARecordOnLaunch *AttributeBooleanValue
	MapCustomerOwnedIpOnLaunch              *AttributeBooleanValue
	DisableLniAtDeviceIndex                 *AttributeBooleanValue
	PrivateDnsHostnameTypeOnLaunch          string
	CustomerOwnedIpv4Pool                   string
	EnableLniAtDeviceIndex                  *int32
}

// modifySubnetAttribute changes one attribute of a subnet, as EC2 allows
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifySubnetAttribute.html).
// Strait's subnets have the values AWS gives a new subnet and cannot take others:
// no public addresses (no internet gateway), no IPv6, instances named by their IP
// (hostname type ip-name), no Outposts. Setting an attribute to its value succeeds;
// any other value is UnsupportedOperation, so that nothing pretends to change.
func (a *API) modifySubnetAttribute(ctx context.Context, c *caller, req *modifySubnetAttributeRequest) (*emptyResponse, error) {
	if _, err := a.ctl.Subnet(ctx, c.Account, req.SubnetId); err != nil {
		return nil, err
	}
	boolAttrs := map[string]*AttributeBooleanValue{
		"MapPublicIpOnLaunch": req.MapPublicIpOnLaunch, "AssignIpv6AddressOnCreation": req.AssignIpv6AddressOnCreation,
		"EnableDns64": req.EnableDns64, "EnableResourceNameDnsARecordOnLaunch": req.EnableResourceNameDnsARecordOnLaunch,
		"EnableResourceNameDnsAAAARecordOnLaunch": req.EnableResourceNameDnsAAAARecordOnLaunch,
		"MapCustomerOwnedIpOnLaunch":              req.MapCustomerOwnedIpOnLaunch, "DisableLniAtDeviceIndex": req.DisableLniAtDeviceIndex,
	}
	var given, unsupported []string
	for name, v := range boolAttrs {
		if v == nil || v.Value == nil {
			continue
		}
		given = append(given, name)
		if *v.Value && name != "DisableLniAtDeviceIndex" || !*v.Value && name == "DisableLniAtDeviceIndex" {
			unsupported = append(unsupported, name)
		}
	}
	if t := req.PrivateDnsHostnameTypeOnLaunch; t != "" {
		given = append(given, "PrivateDnsHostnameTypeOnLaunch")
		if t != "ip-name" {
			unsupported = append(unsupported, "PrivateDnsHostnameTypeOnLaunch")
		}
	}
	for name, set := range map[string]bool{"CustomerOwnedIpv4Pool": req.CustomerOwnedIpv4Pool != "", "EnableLniAtDeviceIndex": req.EnableLniAtDeviceIndex != nil} {
		if set {
			given = append(given, name)
			unsupported = append(unsupported, name)
		}
	}
	switch {
	case len(given) == 0:
		return nil, model.Missingf("The request must contain one attribute of the subnet to modify")
	case len(given) > 1:
		sort.Strings(given)
		return nil, model.WithReason(model.ErrInvalid, model.ReasonParameterCombination, "Only one attribute can be modified at a time, not %v", given)
	case len(unsupported) > 0:
		return nil, &apiError{Code: "UnsupportedOperation", Status: http.StatusBadRequest,
			Message: "ModifySubnetAttribute: " + unsupported[0] + " cannot take that value: Strait's subnets give no public or customer-owned addresses, no IPv6, and name instances by their IP (ip-name)"}
	}
	return &emptyResponse{}, nil
}
