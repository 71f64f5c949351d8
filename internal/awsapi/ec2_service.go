package awsapi

import (
	"context"
	"errors"
	"slices"

	"strait/internal/control/core"
	"strait/internal/control/endpoints"
	"strait/internal/model"
)

// privateLinkActions are the PrivateLink actions: endpoint services, their
// permissions, interface endpoints, connections and notifications.
func (a *API) privateLinkActions() map[string]handler {
	return merge(
		a.serviceActions(),
		a.servicePermissionActions(),
		a.endpointActions(),
		a.connectionActions(),
		a.notificationActions(),
	)
}

func (a *API) serviceActions() map[string]handler {
	return map[string]handler{
		"CreateVpcEndpointServiceConfiguration":         bind(a.createServiceConfiguration),
		"ModifyVpcEndpointServiceConfiguration":         bind(a.modifyServiceConfiguration),
		"DescribeVpcEndpointServiceConfigurations":      bind(a.describeServiceConfigurations),
		"DeleteVpcEndpointServiceConfigurations":        bind(a.deleteServiceConfigurations),
		"StartVpcEndpointServicePrivateDnsVerification": bind(a.startPrivateDNSVerification),
		"DescribeVpcEndpointServices":                   bind(a.describeEndpointServices),
	}
}

// ServiceTypeDetail is the type of a service: always Interface in Strait.
type ServiceTypeDetail struct{ ServiceType string }

// PrivateDnsNameConfiguration is the TXT record that verifies a private DNS name.
type PrivateDnsNameConfiguration struct {
	State string
	Type  string
	Value string
	Name  string
}

// ServiceConfiguration is the EC2 ServiceConfiguration shape (the owner's view).
type ServiceConfiguration struct {
	ServiceType                 []ServiceTypeDetail
	ServiceId                   string
	ServiceName                 string
	ServiceState                string
	AvailabilityZoneIds         []string
	AvailabilityZones           []string
	AcceptanceRequired          bool
	ManagesVpcEndpoints         bool
	NetworkLoadBalancerArns     []string
	SupportedIpAddressTypes     []string
	BaseEndpointDnsNames        []string
	PrivateDnsName              string
	PrivateDnsNameConfiguration *PrivateDnsNameConfiguration
	PayerResponsibility         string
	Tags                        []Tag
}

// UnsuccessfulItem is one failed item of a batch action.
type UnsuccessfulItem struct {
	Error      *UnsuccessfulItemError
	ResourceId string
}

// UnsuccessfulItemError is why an item failed.
type UnsuccessfulItemError struct {
	Code    string
	Message string
}

// unsuccessful renders per-item failures; an empty, non-nil list when all passed.
func unsuccessful(items []core.ItemError) []UnsuccessfulItem {
	out := []UnsuccessfulItem{}
	for _, it := range items {
		code, msg := "InternalError", it.Err.Error()
		var de *model.Error
		if errors.As(it.Err, &de) {
			code = ec2Code(de)
		}
		out = append(out, UnsuccessfulItem{ResourceId: it.ID, Error: &UnsuccessfulItemError{Code: code, Message: msg}})
	}
	return out
}

func (a *API) toServiceConfiguration(s model.EndpointService) ServiceConfiguration {
	out := ServiceConfiguration{
		ServiceType: []ServiceTypeDetail{{ServiceType: "Interface"}},
		ServiceId:   s.ID, ServiceName: s.Name, ServiceState: s.State,
		AvailabilityZoneIds: a.ctl.ZoneIDs(s.AZs), AvailabilityZones: nonNil(s.AZs),
		AcceptanceRequired: s.AcceptanceRequired, NetworkLoadBalancerArns: nonNil(s.NLBARNs),
		SupportedIpAddressTypes: nonNil(s.SupportedIPAddressTypes),
		BaseEndpointDnsNames:    []string{a.ctl.ServiceBaseDNSName(s)},
		PrivateDnsName:          s.PrivateDNSName, PayerResponsibility: s.PayerResponsibility,
		Tags: ec2Tags(s.Tags),
	}
	if v := s.DNSVerification; v != nil {
		out.PrivateDnsNameConfiguration = &PrivateDnsNameConfiguration{State: v.State, Type: v.Type, Value: v.Value, Name: v.Name}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type createServiceConfigurationRequest struct {
	AcceptanceRequired      *bool
	ClientToken             string
	DryRun                  bool
	GatewayLoadBalancerArns []string
	NetworkLoadBalancerArns []string
	PrivateDnsName          string
	SupportedIpAddressTypes []string
	SupportedRegions        []string
	TagSpecifications       []TagSpecification
}

type createServiceConfigurationResponse struct {
	ClientToken          string
	ServiceConfiguration ServiceConfiguration
}

func (a *API) createServiceConfiguration(ctx context.Context, c *caller, req *createServiceConfigurationRequest) (*createServiceConfigurationResponse, error) {
	tags, err := tagsFor(req.TagSpecifications, "vpc-endpoint-service")
	if err != nil {
		return nil, err
	}
	svc, err := a.ctl.CreateEndpointService(ctx, c.Account, endpoints.CreateServiceInput{
		NLBARNs: req.NetworkLoadBalancerArns, GWLBARNs: req.GatewayLoadBalancerArns,
		AcceptanceRequired: req.AcceptanceRequired, PrivateDNSName: req.PrivateDnsName,
		SupportedIPAddressTypes: req.SupportedIpAddressTypes, SupportedRegions: req.SupportedRegions,
		Tags: tags, ClientToken: req.ClientToken,
	})
	if err != nil {
		return nil, err
	}
	return &createServiceConfigurationResponse{ClientToken: req.ClientToken, ServiceConfiguration: a.toServiceConfiguration(svc)}, nil
}

type modifyServiceConfigurationRequest struct {
	ServiceId                     string
	AcceptanceRequired            *bool
	PrivateDnsName                string
	RemovePrivateDnsName          bool
	AddNetworkLoadBalancerArns    []string
	RemoveNetworkLoadBalancerArns []string
	AddGatewayLoadBalancerArns    []string
	RemoveGatewayLoadBalancerArns []string
	AddSupportedIpAddressTypes    []string
	RemoveSupportedIpAddressTypes []string
	AddSupportedRegions           []string
	RemoveSupportedRegions        []string
	DryRun                        bool
}

type returnResponse struct{ Return bool }

func (a *API) modifyServiceConfiguration(ctx context.Context, c *caller, req *modifyServiceConfigurationRequest) (*returnResponse, error) {
	err := a.ctl.ModifyEndpointService(ctx, c.Account, req.ServiceId, endpoints.ModifyServiceInput{
		AcceptanceRequired: req.AcceptanceRequired, PrivateDNSName: req.PrivateDnsName,
		RemovePrivateDNSName: req.RemovePrivateDnsName,
		AddNLBARNs:           req.AddNetworkLoadBalancerArns, RemoveNLBARNs: req.RemoveNetworkLoadBalancerArns,
		AddGWLBARNs: req.AddGatewayLoadBalancerArns, RemoveGWLBARNs: req.RemoveGatewayLoadBalancerArns,
		AddIPAddressTypes: req.AddSupportedIpAddressTypes, RemoveIPAddressTypes: req.RemoveSupportedIpAddressTypes,
		AddRegions: req.AddSupportedRegions, RemoveRegions: req.RemoveSupportedRegions,
	})
	if err != nil {
		return nil, err
	}
	return &returnResponse{Return: true}, nil
}

type describeServiceConfigurationsRequest struct {
	ServiceIds []string
	Filters    []Filter
	MaxResults int32
	NextToken  string
	DryRun     bool
}

type describeServiceConfigurationsResponse struct {
	ServiceConfigurations []ServiceConfiguration
	NextToken             string
}

var serviceConfigurationFilters = filterFuncs[model.EndpointService]{
	"service-name":               func(s model.EndpointService) []string { return []string{s.Name} },
	"service-id":                 func(s model.EndpointService) []string { return []string{s.ID} },
	"service-state":              func(s model.EndpointService) []string { return []string{s.State} },
	"supported-ip-address-types": func(s model.EndpointService) []string { return s.SupportedIPAddressTypes },
	"private-dns-name":           func(s model.EndpointService) []string { return []string{s.PrivateDNSName} },
	"acceptance-required":        func(s model.EndpointService) []string { return []string{boolString(s.AcceptanceRequired)} },
	"network-load-balancer-arn":  func(s model.EndpointService) []string { return s.NLBARNs },
	"payer-responsibility":       func(s model.EndpointService) []string { return []string{s.PayerResponsibility} },
	"private-dns-name-verification-state": func(s model.EndpointService) []string {
		if s.DNSVerification == nil {
			return nil
		}
		return []string{s.DNSVerification.State}
	},
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (a *API) describeServiceConfigurations(ctx context.Context, c *caller, req *describeServiceConfigurationsRequest) (*describeServiceConfigurationsResponse, error) {
	all, err := a.ctl.EndpointServices(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	if err := checkIDs(model.KindService, model.PrefixService, req.ServiceIds); err != nil {
		return nil, err
	}
	configs, next, err := describe(all, query[model.EndpointService]{
		IDs: req.ServiceIds, Kind: model.KindService, IDOf: func(s model.EndpointService) string { return s.ID },
		Filters: req.Filters, Funcs: serviceConfigurationFilters, TagsOf: func(s model.EndpointService) model.Tags { return s.Tags },
		MaxResults: req.MaxResults, NextToken: req.NextToken, Clamp: true,
	}, a.toServiceConfiguration)
	if err != nil {
		return nil, err
	}
	return &describeServiceConfigurationsResponse{ServiceConfigurations: configs, NextToken: next}, nil
}

type deleteServiceConfigurationsRequest struct {
	ServiceIds []string
	DryRun     bool
}

type unsuccessfulResponse struct {
	Unsuccessful []UnsuccessfulItem
}

func (a *API) deleteServiceConfigurations(ctx context.Context, c *caller, req *deleteServiceConfigurationsRequest) (*unsuccessfulResponse, error) {
	failed, err := a.ctl.DeleteEndpointServices(ctx, c.Account, req.ServiceIds)
	if err != nil {
		return nil, err
	}
	return &unsuccessfulResponse{Unsuccessful: serviceDeleteNotFound(unsuccessful(failed), failed)}, nil
}

type startPrivateDNSVerificationRequest struct {
	ServiceId string
	DryRun    bool
}

type returnValueResponse struct{ ReturnValue bool }

func (a *API) startPrivateDNSVerification(ctx context.Context, c *caller, req *startPrivateDNSVerificationRequest) (*returnValueResponse, error) {
	if err := a.ctl.StartPrivateDNSVerification(ctx, c.Account, req.ServiceId); err != nil {
		return nil, err
	}
	return &returnValueResponse{ReturnValue: true}, nil
}

// ServiceDetail is the EC2 ServiceDetail shape (a consumer's view of a service).
type ServiceDetail struct {
	ServiceName                     string
	ServiceId                       string
	ServiceType                     []ServiceTypeDetail
	ServiceRegion                   string
	AvailabilityZoneIds             []string
	AvailabilityZones               []string
	Owner                           string
	BaseEndpointDnsNames            []string
	PrivateDnsName                  string
	PrivateDnsNames                 []PrivateDnsDetails
	VpcEndpointPolicySupported      bool
	AcceptanceRequired              bool
	ManagesVpcEndpoints             bool
	PayerResponsibility             string
	Tags                            []Tag
	PrivateDnsNameVerificationState string
	SupportedIpAddressTypes         []string
}

// PrivateDnsDetails is one private DNS name of a service.
type PrivateDnsDetails struct{ PrivateDnsName string }

type describeEndpointServicesRequest struct {
	ServiceNames   []string
	ServiceRegions []string
	Filters        []Filter
	MaxResults     int32
	NextToken      string
	DryRun         bool
}

type describeEndpointServicesResponse struct {
	ServiceNames   []string
	ServiceDetails []ServiceDetail
	NextToken      string
}

func (a *API) endpointServiceFilters() filterFuncs[model.EndpointService] {
	return filterFuncs[model.EndpointService]{
		"service-name":               func(s model.EndpointService) []string { return []string{s.Name} },
		"service-type":               func(s model.EndpointService) []string { return []string{"Interface"} },
		"service-region":             func(s model.EndpointService) []string { return []string{a.ctl.Region()} },
		"owner":                      func(s model.EndpointService) []string { return []string{s.Owner} },
		"supported-ip-address-types": func(s model.EndpointService) []string { return s.SupportedIPAddressTypes },
	}
}

func (a *API) describeEndpointServices(ctx context.Context, c *caller, req *describeEndpointServicesRequest) (*describeEndpointServicesResponse, error) {
	all, err := a.ctl.VisibleServices(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	items := all
	if len(req.ServiceNames) > 0 {
		items = nil
		for _, n := range req.ServiceNames {
			i := slices.IndexFunc(all, func(s model.EndpointService) bool { return s.Name == n })
			if i < 0 {
				return nil, model.WithReason(model.ErrNotFound, model.ReasonServiceName, "The Vpc Endpoint Service '%s' does not exist", n)
			}
			if !slices.ContainsFunc(items, func(s model.EndpointService) bool { return s.Name == n }) {
				items = append(items, all[i])
			}
		}
	}
	if len(req.ServiceRegions) > 0 && !slices.Contains(req.ServiceRegions, a.ctl.Region()) {
		items = nil
	}
	details, next, err := describe(items, query[model.EndpointService]{
		IDOf:    func(s model.EndpointService) string { return s.Name },
		Filters: req.Filters, Funcs: a.endpointServiceFilters(), TagsOf: func(s model.EndpointService) model.Tags { return s.Tags },
		MaxResults: req.MaxResults, NextToken: req.NextToken, MinLimit: 1, Clamp: true,
	}, func(s model.EndpointService) ServiceDetail { return a.toServiceDetail(s, c.Account) })
	if err != nil {
		return nil, err
	}
	names := convert(details, func(d ServiceDetail) string { return d.ServiceName })
	return &describeEndpointServicesResponse{ServiceNames: names, ServiceDetails: details, NextToken: next}, nil
}

func (a *API) toServiceDetail(s model.EndpointService, acct string) ServiceDetail {
	d := ServiceDetail{
		ServiceName: s.Name, ServiceId: s.ID, ServiceType: []ServiceTypeDetail{{ServiceType: "Interface"}},
		ServiceRegion: a.ctl.Region(), AvailabilityZoneIds: a.ctl.ZoneIDs(s.AZs), AvailabilityZones: nonNil(s.AZs),
		Owner: s.Owner, BaseEndpointDnsNames: []string{a.ctl.ServiceBaseDNSName(s)},
		AcceptanceRequired: s.AcceptanceRequired, PayerResponsibility: s.PayerResponsibility,
		SupportedIpAddressTypes: nonNil(s.SupportedIPAddressTypes),
	}
	if s.Owner == acct {
		d.Tags = ec2Tags(s.Tags)
	}
	// Consumers see the name whatever its verification state, as in AWS; only
	// endpoints wait for verification before they get it (see EndpointDNSEntries).
	if s.PrivateDNSName != "" {
		d.PrivateDnsName = s.PrivateDNSName
		d.PrivateDnsNames = []PrivateDnsDetails{{PrivateDnsName: s.PrivateDNSName}}
		d.PrivateDnsNameVerificationState = model.DNSPendingVerification
		if v := s.DNSVerification; v != nil {
			d.PrivateDnsNameVerificationState = v.State
		}
	}
	return d
}
