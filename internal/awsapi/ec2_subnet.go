package awsapi

import (
	"context"
	"fmt"
	"strconv"

	"strait/internal/control/network"
	"strait/internal/model"
)

// Subnet is the EC2 Subnet shape.
type Subnet struct {
	SubnetId                    string
	SubnetArn                   string
	OwnerId                     string
	VpcId                       string
	State                       string
	CidrBlock                   string
	AvailabilityZone            string
	AvailabilityZoneId          string
	AvailableIpAddressCount     int32
	DefaultForAz                bool
	MapPublicIpOnLaunch         bool
	MapCustomerOwnedIpOnLaunch  bool
	AssignIpv6AddressOnCreation bool
	Ipv6CidrBlockAssociationSet []struct{} // always empty: Strait's subnets are IPv4 only
	Ipv6Native                  bool
	EnableDns64                 bool
	Tags                        []Tag

	PrivateDnsNameOptionsOnLaunch *PrivateDnsNameOptionsOnLaunch
	BlockPublicAccessStates       *BlockPublicAccessStates
}

func (a *API) toSubnet(s model.Subnet) Subnet {
	return Subnet{
		SubnetId: s.ID, SubnetArn: fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", a.ctl.Region(), s.Owner, s.ID),
		OwnerId: s.Owner, VpcId: s.VpcID, State: s.State, CidrBlock: s.CIDR,
		AvailabilityZone: s.AZ, AvailabilityZoneId: s.AZID, AvailableIpAddressCount: int32(network.AvailableIPs(s)),
		MapPublicIpOnLaunch: s.MapPublicIPOnLaunch, DefaultForAz: s.DefaultForAZ, Tags: ec2Tags(s.Tags),
		Ipv6CidrBlockAssociationSet: []struct{}{}, PrivateDnsNameOptionsOnLaunch: subnetDNSOptions(s),
		BlockPublicAccessStates: &BlockPublicAccessStates{InternetGatewayBlockMode: "off"},
	}
}

func (a *API) subnetActions() map[string]handler {
	return map[string]handler{
		"CreateSubnet":    bind(a.createSubnet),
		"DescribeSubnets": bind(a.describeSubnets),
		"DeleteSubnet":    bind(a.deleteSubnet),
	}
}

type createSubnetRequest struct {
	VpcId              string
	CidrBlock          string
	AvailabilityZone   string
	AvailabilityZoneId string
	TagSpecifications  []TagSpecification
	DryRun             bool

	// Refused (ipv4Only).
	Ipv6CidrBlock     string
	Ipv6Native        bool
	Ipv6IpamPoolId    string
	Ipv6NetmaskLength int32
	Ipv4IpamPoolId    string
	Ipv4NetmaskLength int32
	OutpostArn        string
}

type createSubnetResponse struct{ Subnet Subnet }

func (a *API) createSubnet(ctx context.Context, c *caller, req *createSubnetRequest) (*createSubnetResponse, error) {
	if err := ipv4Only("CreateSubnet", map[string]bool{"Ipv6CidrBlock": req.Ipv6CidrBlock != "", "Ipv6Native": req.Ipv6Native,
		"Ipv6IpamPoolId": req.Ipv6IpamPoolId != "", "Ipv6NetmaskLength": req.Ipv6NetmaskLength != 0,
		"Ipv4IpamPoolId": req.Ipv4IpamPoolId != "", "Ipv4NetmaskLength": req.Ipv4NetmaskLength != 0, "OutpostArn": req.OutpostArn != ""}); err != nil {
		return nil, err
	}
	if req.CidrBlock == "" {
		return nil, model.Missing("CidrBlock")
	}
	if req.AvailabilityZone != "" && req.AvailabilityZoneId != "" {
		return nil, model.WithReason(model.ErrInvalid, model.ReasonParameterCombination, "Specify either AvailabilityZone or AvailabilityZoneId, not both")
	}
	tags, err := tagsFor(req.TagSpecifications, "subnet")
	if err != nil {
		return nil, err
	}
	az := req.AvailabilityZone
	if az == "" {
		az = req.AvailabilityZoneId
	}
	s, err := a.ctl.CreateSubnet(ctx, c.Account, network.CreateSubnetInput{VpcID: req.VpcId, CIDR: req.CidrBlock, AZ: az, Tags: tags})
	if err != nil {
		return nil, err
	}
	return &createSubnetResponse{Subnet: a.toSubnet(s)}, nil
}

type describeSubnetsRequest struct {
	SubnetIds  []string
	Filters    []Filter
	MaxResults int32
	NextToken  string
	DryRun     bool
}

type describeSubnetsResponse struct {
	Subnets   []Subnet
	NextToken string
}

var subnetFilters = filterFuncs[model.Subnet]{
	"subnet-id":                  func(s model.Subnet) []string { return []string{s.ID} },
	"vpc-id":                     func(s model.Subnet) []string { return []string{s.VpcID} },
	"cidr-block":                 func(s model.Subnet) []string { return []string{s.CIDR} },
	"cidr":                       func(s model.Subnet) []string { return []string{s.CIDR} },
	"cidrBlock":                  func(s model.Subnet) []string { return []string{s.CIDR} },
	"availability-zone":          func(s model.Subnet) []string { return []string{s.AZ} },
	"availabilityZone":           func(s model.Subnet) []string { return []string{s.AZ} },
	"availability-zone-id":       func(s model.Subnet) []string { return []string{s.AZID} },
	"availabilityZoneId":         func(s model.Subnet) []string { return []string{s.AZID} },
	"available-ip-address-count": func(s model.Subnet) []string { return []string{strconv.Itoa(network.AvailableIPs(s))} },
	"default-for-az":             func(s model.Subnet) []string { return []string{strconv.FormatBool(s.DefaultForAZ)} },
	"defaultForAz":               func(s model.Subnet) []string { return []string{strconv.FormatBool(s.DefaultForAZ)} },
	"map-public-ip-on-launch":    func(s model.Subnet) []string { return []string{strconv.FormatBool(s.MapPublicIPOnLaunch)} },
	"owner-id":                   func(s model.Subnet) []string { return []string{s.Owner} },
	"state":                      func(s model.Subnet) []string { return []string{s.State} },
}

func (a *API) describeSubnets(ctx context.Context, c *caller, req *describeSubnetsRequest) (*describeSubnetsResponse, error) {
	all, err := a.ctl.Subnets(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	subnets, next, err := describe(all, query[model.Subnet]{
		IDs: req.SubnetIds, Kind: model.KindSubnet, IDOf: func(s model.Subnet) string { return s.ID },
		Filters: req.Filters, Funcs: subnetFilters, TagsOf: func(s model.Subnet) model.Tags { return s.Tags },
		MaxResults: req.MaxResults, NextToken: req.NextToken,
	}, a.toSubnet)
	if err != nil {
		return nil, err
	}
	return &describeSubnetsResponse{Subnets: subnets, NextToken: next}, nil
}

type deleteSubnetRequest struct {
	SubnetId string
	DryRun   bool
}

func (a *API) deleteSubnet(ctx context.Context, c *caller, req *deleteSubnetRequest) (*emptyResponse, error) {
	return &emptyResponse{}, a.ctl.DeleteSubnet(ctx, c.Account, req.SubnetId)
}
