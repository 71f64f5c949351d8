package awsapi

import (
	"context"
	"strait/internal/control/elb"
)

func (a *API) elbTagActions() map[string]handler {
	return map[string]handler{
		"AddTags":      bind(a.addELBTags),
		"RemoveTags":   bind(a.removeELBTags),
		"DescribeTags": bind(a.describeELBTags),
	}
}

type addELBTagsRequest struct {
	ResourceArns []string
	Tags         []elbTag
}

func (a *API) addELBTags(ctx context.Context, c *caller, req *addELBTagsRequest) (*emptyResponse, error) {
	return &emptyResponse{}, a.ctl.AddTags(ctx, c.Account, req.ResourceArns, keyValues[elb.ELBTag](req.Tags))
}

type removeELBTagsRequest struct {
	ResourceArns []string
	TagKeys      []string
}

func (a *API) removeELBTags(ctx context.Context, c *caller, req *removeELBTagsRequest) (*emptyResponse, error) {
	return &emptyResponse{}, a.ctl.RemoveTags(ctx, c.Account, req.ResourceArns, req.TagKeys)
}

type describeELBTagsRequest struct {
	ResourceArns []string
}

// elbTagDescription is the ELBv2 TagDescription shape.
type elbTagDescription struct {
	ResourceArn string
	Tags        []elbTag
}

type describeELBTagsResponse struct {
	TagDescriptions []elbTagDescription
}

func (a *API) describeELBTags(ctx context.Context, c *caller, req *describeELBTagsRequest) (*describeELBTagsResponse, error) {
	tags, err := a.ctl.Tags(ctx, c.Account, req.ResourceArns)
	if err != nil {
		return nil, err
	}
	out := &describeELBTagsResponse{TagDescriptions: []elbTagDescription{}}
	for i, t := range tags {
		out.TagDescriptions = append(out.TagDescriptions, elbTagDescription{ResourceArn: req.ResourceArns[i], Tags: elbTags(t)})
	}
	return out, nil
}
