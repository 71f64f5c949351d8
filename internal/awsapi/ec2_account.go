package awsapi

import (
	"context"
	"slices"
)

func (a *API) accountActions() map[string]handler {
	return map[string]handler{
		"DescribeAccountAttributes": bind(a.describeAccountAttributes),
	}
}

// AccountAttribute is one attribute of an account and its values.
type AccountAttribute struct {
	AttributeName   string
	AttributeValues []AccountAttributeValue
}

// AccountAttributeValue is one value of an account attribute.
type AccountAttributeValue struct {
	AttributeValue string
}

// accountAttributes are every account's attributes, in the order EC2 lists them:
// VPC only and EC2's default quotas; default-vpc is the account's default VPC, or
// "none" (filled in per request).
var accountAttributes = []struct{ name, value string }{
	{"supported-platforms", "VPC"},
	{"vpc-max-security-groups-per-interface", "5"},
	{"max-elastic-ips", "5"},
	{"max-instances", "20"},
	{"vpc-max-elastic-ips", "5"},
	{"default-vpc", "none"},
}

type describeAccountAttributesRequest struct {
	AttributeNames []string
	DryRun         bool
}

type describeAccountAttributesResponse struct {
	AccountAttributes []AccountAttribute
}

func (a *API) describeAccountAttributes(ctx context.Context, c *caller, req *describeAccountAttributesRequest) (*describeAccountAttributesResponse, error) {
	out := &describeAccountAttributesResponse{AccountAttributes: []AccountAttribute{}}
	for _, attr := range accountAttributes {
		if len(req.AttributeNames) > 0 && !slices.Contains(req.AttributeNames, attr.name) {
			continue
		}
		if attr.name == "default-vpc" {
			v, ok, err := a.ctl.DefaultVpc(ctx, c.Account)
			if err != nil {
				return nil, err
			}
			if ok {
				attr.value = v.ID
			}
		}
		out.AccountAttributes = append(out.AccountAttributes, AccountAttribute{
			AttributeName: attr.name, AttributeValues: []AccountAttributeValue{{AttributeValue: attr.value}},
		})
	}
	return out, nil
}
