package awsapi

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"strait/internal/model"
)

func (a *API) networkActions() map[string]handler {
	return map[string]handler{
		"DescribeAvailabilityZones": bind(a.describeAvailabilityZones),
		"DescribeNetworkInterfaces": bind(a.describeNetworkInterfaces),
		"DescribeRouteTables":       bind(a.describeRouteTables),
		"DescribeNetworkAcls":       bind(a.describeNetworkAcls),
	}
}

// AvailabilityZone is the EC2 AvailabilityZone shape.
type AvailabilityZone struct {
	ZoneName           string
	ZoneId             string
	ZoneType           string
	State              string
	OptInStatus        string
	Messages           []AvailabilityZoneMessage
	RegionName         string
	GroupName          string
	NetworkBorderGroup string
}

// AvailabilityZoneMessage is a message about a zone.
type AvailabilityZoneMessage struct {
	Message string
}

type describeAvailabilityZonesRequest struct {
	ZoneNames            []string
	ZoneIds              []string
	AllAvailabilityZones bool
	Filters              []Filter
	DryRun               bool
}

type describeAvailabilityZonesResponse struct {
	AvailabilityZones []AvailabilityZone
}

var azFilters = filterFuncs[model.AvailabilityZone]{
	"zone-name":            func(z model.AvailabilityZone) []string { return []string{z.Name} },
	"zone-id":              func(z model.AvailabilityZone) []string { return []string{z.ZoneID} },
	"region-name":          func(z model.AvailabilityZone) []string { return []string{z.Region} },
	"group-name":           func(z model.AvailabilityZone) []string { return []string{z.Region} },
	"network-border-group": func(z model.AvailabilityZone) []string { return []string{z.Region} },
	"state":                func(z model.AvailabilityZone) []string { return []string{"available"} },
	"opt-in-status":        func(z model.AvailabilityZone) []string { return []string{"opt-in-not-required"} },
	"zone-type":            func(z model.AvailabilityZone) []string { return []string{"availability-zone"} },
}

func (a *API) describeAvailabilityZones(ctx context.Context, c *caller, req *describeAvailabilityZonesRequest) (*describeAvailabilityZonesResponse, error) {
	zones := a.ctl.Zones()
	items := make([]model.AvailabilityZone, 0, len(zones))
	if len(req.ZoneNames) == 0 && len(req.ZoneIds) == 0 {
		items = append(items, zones...)
	}
	for _, want := range append(append([]string{}, req.ZoneNames...), req.ZoneIds...) {
		found := false
		for _, z := range zones {
			if z.Name == want || z.ZoneID == want {
				items, found = append(items, z), true
				break
			}
		}
		if !found {
			return nil, &model.Error{Err: model.ErrInvalid, Kind: model.KindAZ, ID: want,
				Msg: fmt.Sprintf("Invalid availability zone: [%s]", want)}
		}
	}
	items, err := applyFilters(items, req.Filters, azFilters, nil)
	if err != nil {
		return nil, err
	}
	out := &describeAvailabilityZonesResponse{AvailabilityZones: []AvailabilityZone{}}
	seen := map[string]bool{}
	for _, z := range items {
		if seen[z.Name] {
			continue
		}
		seen[z.Name] = true
		out.AvailabilityZones = append(out.AvailabilityZones, AvailabilityZone{
			ZoneName: z.Name, ZoneId: z.ZoneID, ZoneType: "availability-zone", State: "available",
			OptInStatus: "opt-in-not-required", Messages: []AvailabilityZoneMessage{}, RegionName: z.Region,
			GroupName: z.Region, NetworkBorderGroup: z.Region,
		})
	}
	return out, nil
}

// NetworkInterface is the EC2 NetworkInterface shape.
type NetworkInterface struct {
	NetworkInterfaceId string
	SubnetId           string
	VpcId              string
	AvailabilityZone   string
	AvailabilityZoneId string
	Description        string
	OwnerId            string
	RequesterId        string
	RequesterManaged   bool
	Status             string
	MacAddress         string
	PrivateIpAddress   string
	PrivateDnsName     string
	SourceDestCheck    bool
	Groups             []GroupIdentifier
	Attachment         *NetworkInterfaceAttachment
	TagSet             []Tag
	PrivateIpAddresses []NetworkInterfacePrivateIpAddress
	Ipv6Addresses      []NetworkInterfaceIpv6Address
	InterfaceType      string
}

// GroupIdentifier names a security group.
type GroupIdentifier struct {
	GroupId   string
	GroupName string
}

// NetworkInterfaceAttachment is what an interface is attached to.
type NetworkInterfaceAttachment struct {
	AttachmentId        string
	InstanceId          string
	InstanceOwnerId     string
	DeviceIndex         int32
	Status              string
	AttachTime          time.Time
	DeleteOnTermination bool
}

// NetworkInterfacePrivateIpAddress is one private address of an interface.
type NetworkInterfacePrivateIpAddress struct {
	PrivateIpAddress string
	PrivateDnsName   string
	Primary          bool
}

// NetworkInterfaceIpv6Address is one IPv6 address of an interface (Strait has none).
type NetworkInterfaceIpv6Address struct {
	Ipv6Address string
}

// privateDNSName is EC2's internal host name of an address.
func (a *API) privateDNSName(ip string) string {
	host := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if a.ctl.Region() == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + a.ctl.Region() + ".compute.internal"
}

func (a *API) toNetworkInterface(e model.NetworkInterface, groupNames map[string]string, zoneIDs map[string]string) NetworkInterface {
	dns := a.privateDNSName(e.PrivateIP)
	out := NetworkInterface{
		NetworkInterfaceId: e.ID, SubnetId: e.SubnetID, VpcId: e.VpcID, AvailabilityZone: e.AZ, AvailabilityZoneId: zoneIDs[e.AZ],
		Description: e.Description, OwnerId: e.Owner, RequesterId: e.RequesterID, RequesterManaged: e.RequesterManaged,
		Status: e.Status, MacAddress: e.MAC, PrivateIpAddress: e.PrivateIP, PrivateDnsName: dns, SourceDestCheck: true,
		Groups: []GroupIdentifier{}, TagSet: ec2Tags(e.Tags), InterfaceType: e.InterfaceType,
		PrivateIpAddresses: []NetworkInterfacePrivateIpAddress{{PrivateIpAddress: e.PrivateIP, PrivateDnsName: dns, Primary: true}},
		Ipv6Addresses:      []NetworkInterfaceIpv6Address{},
	}
	for _, g := range e.Groups {
		out.Groups = append(out.Groups, GroupIdentifier{GroupId: g, GroupName: groupNames[g]})
	}
	if e.AttachedTo != "" {
		att := &NetworkInterfaceAttachment{AttachmentId: e.AttachmentID, Status: "attached", AttachTime: e.Created, DeviceIndex: 1}
		switch e.InterfaceType {
		case model.ENITypeNLB:
			att.InstanceOwnerId = "amazon-elb"
		case model.ENITypeEndpoint:
			att.InstanceOwnerId = "amazon-aws"
		default:
			att.InstanceId, att.InstanceOwnerId, att.DeviceIndex, att.DeleteOnTermination = e.AttachedTo, e.Owner, 0, true
		}
		out.Attachment = att
	}
	return out
}

type describeNetworkInterfacesRequest struct {
	NetworkInterfaceIds []string
	Filters             []Filter
	MaxResults          int32
	NextToken           string
	DryRun              bool
}

type describeNetworkInterfacesResponse struct {
	NetworkInterfaces []NetworkInterface
	NextToken         string
}

// eniFilters are DescribeNetworkInterfaces' filters; names resolves group IDs to
// names, the render function gives an interface's attachment.
func eniFilters(names map[string]string, render func(model.NetworkInterface) NetworkInterface) filterFuncs[model.NetworkInterface] {
	one := func(f func(model.NetworkInterface) string) func(model.NetworkInterface) []string {
		return func(e model.NetworkInterface) []string { return []string{f(e)} }
	}
	attachment := func(f func(*NetworkInterfaceAttachment) string) func(model.NetworkInterface) []string {
		return func(e model.NetworkInterface) []string {
			if att := render(e).Attachment; att != nil {
				return []string{f(att)}
			}
			return nil
		}
	}
	return filterFuncs[model.NetworkInterface]{
		"network-interface-id":         one(func(e model.NetworkInterface) string { return e.ID }),
		"vpc-id":                       one(func(e model.NetworkInterface) string { return e.VpcID }),
		"subnet-id":                    one(func(e model.NetworkInterface) string { return e.SubnetID }),
		"availability-zone":            one(func(e model.NetworkInterface) string { return e.AZ }),
		"description":                  one(func(e model.NetworkInterface) string { return e.Description }),
		"interface-type":               one(func(e model.NetworkInterface) string { return e.InterfaceType }),
		"requester-managed":            one(func(e model.NetworkInterface) string { return strconv.FormatBool(e.RequesterManaged) }),
		"requester-id":                 one(func(e model.NetworkInterface) string { return e.RequesterID }),
		"private-ip-address":           one(func(e model.NetworkInterface) string { return e.PrivateIP }),
		"addresses.private-ip-address": one(func(e model.NetworkInterface) string { return e.PrivateIP }),
		"addresses.primary":            one(func(e model.NetworkInterface) string { return "true" }),
		"private-dns-name":             one(func(e model.NetworkInterface) string { return render(e).PrivateDnsName }),
		"mac-address":                  one(func(e model.NetworkInterface) string { return e.MAC }),
		"owner-id":                     one(func(e model.NetworkInterface) string { return e.Owner }),
		"status":                       one(func(e model.NetworkInterface) string { return e.Status }),
		"source-dest-check":            one(func(e model.NetworkInterface) string { return "true" }),
		"group-id":                     func(e model.NetworkInterface) []string { return e.Groups },
		"attachment.attachment-id":     attachment(func(a *NetworkInterfaceAttachment) string { return a.AttachmentId }),
		"attachment.instance-id":       attachment(func(a *NetworkInterfaceAttachment) string { return a.InstanceId }),
		"attachment.instance-owner-id": attachment(func(a *NetworkInterfaceAttachment) string { return a.InstanceOwnerId }),
		"attachment.status":            attachment(func(a *NetworkInterfaceAttachment) string { return a.Status }),
		"attachment.device-index":      attachment(func(a *NetworkInterfaceAttachment) string { return strconv.Itoa(int(a.DeviceIndex)) }),
		"attachment.delete-on-termination": attachment(func(a *NetworkInterfaceAttachment) string {
			return strconv.FormatBool(a.DeleteOnTermination)
		}),
		"group-name": func(e model.NetworkInterface) []string {
			out := make([]string, 0, len(e.Groups))
			for _, g := range e.Groups {
				out = append(out, names[g])
			}
			return out
		},
	}
}

func (a *API) describeNetworkInterfaces(ctx context.Context, c *caller, req *describeNetworkInterfacesRequest) (*describeNetworkInterfacesResponse, error) {
	all, err := a.ctl.NetworkInterfaces(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	if err := checkIDs(model.KindENI, model.PrefixENI, req.NetworkInterfaceIds); err != nil {
		return nil, err
	}
	groups, err := a.ctl.SecurityGroups(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	zoneIDs := map[string]string{}
	for _, z := range a.ctl.Zones() {
		zoneIDs[z.Name] = z.ZoneID
	}
	render := func(e model.NetworkInterface) NetworkInterface { return a.toNetworkInterface(e, names, zoneIDs) }
	enis, next, err := describe(all, query[model.NetworkInterface]{
		IDs: req.NetworkInterfaceIds, Kind: model.KindENI, IDOf: func(e model.NetworkInterface) string { return e.ID },
		Filters: req.Filters, Funcs: eniFilters(names, render), TagsOf: func(e model.NetworkInterface) model.Tags { return e.Tags },
		MaxResults: req.MaxResults, NextToken: req.NextToken,
	}, render)
	if err != nil {
		return nil, err
	}
	return &describeNetworkInterfacesResponse{NetworkInterfaces: enis, NextToken: next}, nil
}
