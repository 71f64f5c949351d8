package awsapi

import (
	"context"

	"strait/internal/control/ec2tags"
	"strait/internal/model"
)

// tagResourceTypes names each kind as EC2 writes it in TagDescription.ResourceType.
var tagResourceTypes = map[string]string{
	model.KindVpc:           "vpc",
	model.KindSubnet:        "subnet",
	model.KindSecurityGroup: "security-group",
	model.KindRule:          "security-group-rule",
	model.KindENI:           "network-interface",
	model.KindEndpoint:      "vpc-endpoint",
	model.KindService:       "vpc-endpoint-service",
	model.KindRouteTable:    "route-table",
	model.KindNetworkACL:    "network-acl",
	model.KindInstance:      "instance",
	model.KindPermission:    "vpc-endpoint-service-permission",
}

func (a *API) tagActions() map[string]handler {
	return map[string]handler{
		"CreateTags":   bind(a.createTags),
		"DeleteTags":   bind(a.deleteTags),
		"DescribeTags": bind(a.describeTags),
	}
}

type createTagsRequest struct {
	Resources []string
	Tags      []Tag
	DryRun    bool
}

func (a *API) createTags(ctx context.Context, c *caller, req *createTagsRequest) (*emptyResponse, error) {
	tags := model.Tags{}
	for _, t := range req.Tags {
		if err := checkTag(t.Key, t.Value); err != nil {
			return nil, err
		}
		tags[t.Key] = t.Value
	}
	return &emptyResponse{}, a.ctl.CreateTags(ctx, c.Account, req.Resources, tags)
}

// deleteTag is a tag to delete: a key, and a value only when the request gives one.
type deleteTag struct {
	Key   string
	Value *string
}

type deleteTagsRequest struct {
	Resources []string
	Tags      []deleteTag
	DryRun    bool
}

func (a *API) deleteTags(ctx context.Context, c *caller, req *deleteTagsRequest) (*emptyResponse, error) {
	keys := make([]ec2tags.TagKey, 0, len(req.Tags))
	for _, t := range req.Tags {
		if t.Key == "" {
			return nil, model.Invalid("Tag keys must not be empty")
		}
		keys = append(keys, ec2tags.TagKey{Key: t.Key, Value: t.Value})
	}
	return &emptyResponse{}, a.ctl.DeleteTags(ctx, c.Account, req.Resources, keys)
}

type describeTagsRequest struct {
	Filters    []Filter
	MaxResults int32
	NextToken  string
	DryRun     bool
}

// TagDescription is one tag of one resource.
type TagDescription struct {
	Key          string
	ResourceId   string
	ResourceType string
	Value        string
}

type describeTagsResponse struct {
	Tags      []TagDescription
	NextToken string
}

var tagFilters = filterFuncs[ec2tags.ResourceTag]{
	"key":           func(t ec2tags.ResourceTag) []string { return []string{t.Key} },
	"value":         func(t ec2tags.ResourceTag) []string { return []string{t.Value} },
	"resource-id":   func(t ec2tags.ResourceTag) []string { return []string{t.ResourceID} },
	"resource-type": func(t ec2tags.ResourceTag) []string { return []string{tagResourceTypes[t.Kind]} },
}

func (a *API) describeTags(ctx context.Context, c *caller, req *describeTagsRequest) (*describeTagsResponse, error) {
	all, err := a.ctl.EC2Tags(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	// tag:<key> filters select resources by one of their tags and list all of them.
	byKey := map[string]model.Tags{}
	for _, t := range all {
		if byKey[t.ResourceID] == nil {
			byKey[t.ResourceID] = model.Tags{}
		}
		byKey[t.ResourceID][t.Key] = t.Value
	}
	tags, next, err := describe(all, query[ec2tags.ResourceTag]{
		// Resource IDs never contain a NUL byte, so this orders by resource, then key.
		IDOf:    func(t ec2tags.ResourceTag) string { return t.ResourceID + "\x00" + t.Key },
		Filters: req.Filters, Funcs: tagFilters, TagsOf: func(t ec2tags.ResourceTag) model.Tags { return byKey[t.ResourceID] },
		MaxResults: req.MaxResults, NextToken: req.NextToken,
	}, func(t ec2tags.ResourceTag) TagDescription {
		return TagDescription{Key: t.Key, ResourceId: t.ResourceID, ResourceType: tagResourceTypes[t.Kind], Value: t.Value}
	})
	if err != nil {
		return nil, err
	}
	return &describeTagsResponse{Tags: tags, NextToken: next}, nil
}
