package awsapi

import (
	"context"
	"strait/internal/model"
)

func (a *API) prefixListActions() map[string]handler {
	return map[string]handler{
		"DescribePrefixLists": bind(a.describePrefixLists),
	}
}

// PrefixList is the EC2 PrefixList shape: an AWS-managed prefix list of a service
// reachable through gateway endpoints.
type PrefixList struct {
	Cidrs          []string
	PrefixListId   string
	PrefixListName string
}

type describePrefixListsRequest struct {
	PrefixListIds []string
	Filters       []Filter
	MaxResults    int32
	NextToken     string
	DryRun        bool
}

type describePrefixListsResponse struct {
	PrefixLists []PrefixList
	NextToken   string
}

var prefixListFilters = filterFuncs[PrefixList]{
	"prefix-list-id":   func(p PrefixList) []string { return []string{p.PrefixListId} },
	"prefix-list-name": func(p PrefixList) []string { return []string{p.PrefixListName} },
}

// describePrefixLists lists the AWS-managed prefix lists: there are none, since
// Strait serves no gateway endpoints. Terraform's aws_vpc_endpoint reads the prefix
// list named after the endpoint's service and takes an empty answer as "none".
func (a *API) describePrefixLists(_ context.Context, _ *caller, req *describePrefixListsRequest) (*describePrefixListsResponse, error) {
	if len(req.PrefixListIds) > 0 {
		return nil, model.WithReason(model.ErrNotFound, model.ReasonPrefixListNotFound, "The prefix list ID '%s' does not exist", req.PrefixListIds[0])
	}
	lists, next, err := describe(nil, query[PrefixList]{
		IDOf:    func(p PrefixList) string { return p.PrefixListId },
		Filters: req.Filters, Funcs: prefixListFilters,
		MaxResults: req.MaxResults, NextToken: req.NextToken,
	}, func(p PrefixList) PrefixList { return p })
	if err != nil {
		return nil, err
	}
	return &describePrefixListsResponse{PrefixLists: lists, NextToken: next}, nil
}
