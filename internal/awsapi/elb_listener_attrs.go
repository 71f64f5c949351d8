package awsapi

import (
	"context"

	"strait/internal/control/elb"
)

func (a *API) listenerAttributeActions() map[string]handler {
	return map[string]handler{
		"DescribeListenerAttributes": bind(a.describeListenerAttributes),
		"ModifyListenerAttributes":   bind(a.modifyListenerAttributes),
	}
}

type listenerAttributesRequest struct {
	ListenerArn string
	Attributes  []elbAttribute
}

func (a *API) describeListenerAttributes(ctx context.Context, c *caller, req *listenerAttributesRequest) (*elbAttributesResponse, error) {
	attrs, err := a.ctl.ListenerAttributes(ctx, c.Account, req.ListenerArn)
	if err != nil {
		return nil, err
	}
	return &elbAttributesResponse{Attributes: attributesOut(attrs)}, nil
}

func (a *API) modifyListenerAttributes(ctx context.Context, c *caller, req *listenerAttributesRequest) (*elbAttributesResponse, error) {
	attrs, err := a.ctl.ModifyListenerAttributes(ctx, c.Account, req.ListenerArn, keyValues[elb.ELBAttribute](req.Attributes))
	if err != nil {
		return nil, err
	}
	return &elbAttributesResponse{Attributes: attributesOut(attrs)}, nil
}
