package awsapi

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"time"

	"strait/internal/control/network"
	"strait/internal/model"
)

func (a *API) instanceActions() map[string]handler {
	return map[string]handler{
		"RunInstances":       bind(a.runInstances),
		"DescribeInstances":  bind(a.describeInstances),
		"TerminateInstances": bind(a.terminateInstances),
	}
}

// Reservation is the EC2 Reservation shape: the instances one RunInstances call
// launched.
type Reservation struct {
	ReservationId string
	OwnerId       string
	Groups        []GroupIdentifier
	Instances     []Instance
}

// Instance is the EC2 Instance shape.
type Instance struct {
	InstanceId            string
	ImageId               string
	InstanceType          string
	KeyName               string
	AmiLaunchIndex        int32
	Architecture          string
	LaunchTime            time.Time
	State                 *InstanceState
	StateReason           *StateReason
	StateTransitionReason string
	Placement             *Placement
	Monitoring            *Monitoring
	SubnetId              string
	VpcId                 string
	PrivateIpAddress      string
	PrivateDnsName        string
	PrivateDnsNameOptions *PrivateDnsNameOptionsResponse
	SecurityGroups        []GroupIdentifier
	NetworkInterfaces     []InstanceNetworkInterface
	BlockDeviceMappings   []InstanceBlockDeviceMapping
	ProductCodes          []ProductCode
	SourceDestCheck       bool
	ClientToken           string
	Tags                  []Tag
}

// InstanceState is an instance's state: its name and EC2's code for it.
type InstanceState struct {
	Code int32
	Name string
}

// StateReason explains an instance's last state change.
type StateReason struct {
	Code    string
	Message string
}

// Placement is where an instance runs.
type Placement struct {
	AvailabilityZone   string
	AvailabilityZoneId string
	GroupName          string
	Tenancy            string
}

// Monitoring says whether detailed monitoring is on (never, in Strait).
type Monitoring struct{ State string }

// PrivateDnsNameOptionsResponse is how an instance's private host name is formed.
type PrivateDnsNameOptionsResponse struct {
	HostnameType                    string
	EnableResourceNameDnsARecord    bool
	EnableResourceNameDnsAAAARecord bool
}

// InstanceBlockDeviceMapping is a volume of an instance; Strait's have none.
type InstanceBlockDeviceMapping struct{ DeviceName string }

// ProductCode is a marketplace product code; Strait's instances have none.
type ProductCode struct{ ProductCodeId string }

// InstanceNetworkInterface is an instance's network interface.
type InstanceNetworkInterface struct {
	NetworkInterfaceId string
	SubnetId           string
	VpcId              string
	Description        string
	OwnerId            string
	Status             string
	MacAddress         string
	PrivateIpAddress   string
	PrivateDnsName     string
	SourceDestCheck    bool
	InterfaceType      string
	Groups             []GroupIdentifier
	Attachment         *InstanceNetworkInterfaceAttachment
	PrivateIpAddresses []InstancePrivateIpAddress
}

// InstanceNetworkInterfaceAttachment attaches an interface to its instance.
type InstanceNetworkInterfaceAttachment struct {
	AttachmentId        string
	AttachTime          time.Time
	DeleteOnTermination bool
	DeviceIndex         int32
	NetworkCardIndex    int32
	Status              string
}

// InstancePrivateIpAddress is one private address of an instance's interface.
type InstancePrivateIpAddress struct {
	PrivateIpAddress string
	PrivateDnsName   string
	Primary          bool
}

// InstanceStateChange is one instance's state change in TerminateInstances.
type InstanceStateChange struct {
	InstanceId    string
	CurrentState  *InstanceState
	PreviousState *InstanceState
}

func instanceState(name string) *InstanceState {
	return &InstanceState{Code: model.InstanceStateCode(name), Name: name}
}

// architecture is the EC2 name of the host's architecture, which instances share.
func architecture() string {
	if runtime.GOARCH == "amd64" {
		return "x86_64"
	}
	return runtime.GOARCH
}

// shownInstance is an instance as EC2 shows it: a terminated instance has lost its
// network (no subnet, VPC, address, interface or groups).
func shownInstance(i model.Instance) model.Instance {
	if i.State == model.InstanceTerminated {
		i.VpcID, i.SubnetID, i.PrivateIP, i.PrivateDNSName, i.ENIID, i.SecurityGroups = "", "", "", "", "", nil
	}
	return i
}

// instanceView renders instances with what they refer to: their interfaces and
// the names of their security groups.
type instanceView struct {
	a          *API
	enis       map[string]model.NetworkInterface
	groupNames map[string]string
	zoneIDs    map[string]string
}

func (a *API) newInstanceView(ctx context.Context, acct string) (*instanceView, error) {
	v := &instanceView{a: a, enis: map[string]model.NetworkInterface{}, groupNames: map[string]string{}, zoneIDs: map[string]string{}}
	enis, err := a.ctl.NetworkInterfaces(ctx, acct)
	if err != nil {
		return nil, err
	}
	for _, e := range enis {
		v.enis[e.ID] = e
	}
	groups, err := a.ctl.SecurityGroups(ctx, acct)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		v.groupNames[g.ID] = g.Name
	}
	for _, z := range a.ctl.Zones() {
		v.zoneIDs[z.Name] = z.ZoneID
	}
	return v, nil
}

func (v *instanceView) groups(ids []string) []GroupIdentifier {
	out := make([]GroupIdentifier, 0, len(ids))
	for _, id := range ids {
		out = append(out, GroupIdentifier{GroupId: id, GroupName: v.groupNames[id]})
	}
	return out
}

func (v *instanceView) instance(i model.Instance) Instance {
	i = shownInstance(i)
	out := Instance{
		InstanceId: i.ID, ImageId: i.ImageID, InstanceType: i.InstanceType, KeyName: i.KeyName,
		AmiLaunchIndex: i.AMILaunchIndex, Architecture: architecture(), LaunchTime: i.LaunchTime,
		State: instanceState(i.State), StateTransitionReason: i.StateTransitionReason,
		Placement:  &Placement{AvailabilityZone: i.AZ, AvailabilityZoneId: v.zoneIDs[i.AZ], Tenancy: "default"},
		Monitoring: &Monitoring{State: "disabled"}, SubnetId: i.SubnetID, VpcId: i.VpcID,
		PrivateIpAddress: i.PrivateIP, PrivateDnsName: i.PrivateDNSName,
		PrivateDnsNameOptions: &PrivateDnsNameOptionsResponse{HostnameType: "ip-name"},
		SecurityGroups:        v.groups(i.SecurityGroups), NetworkInterfaces: []InstanceNetworkInterface{},
		BlockDeviceMappings: []InstanceBlockDeviceMapping{}, ProductCodes: []ProductCode{},
		SourceDestCheck: true, ClientToken: i.ClientToken, Tags: ec2Tags(i.Tags),
	}
	if i.StateReasonCode != "" {
		out.StateReason = &StateReason{Code: i.StateReasonCode, Message: i.StateReasonMessage}
	}
	if e, ok := v.enis[i.ENIID]; ok {
		dns := model.PrivateDNSName(v.a.ctl.Region(), e.PrivateIP)
		out.NetworkInterfaces = append(out.NetworkInterfaces, InstanceNetworkInterface{
			NetworkInterfaceId: e.ID, SubnetId: e.SubnetID, VpcId: e.VpcID, Description: e.Description, OwnerId: e.Owner,
			Status: e.Status, MacAddress: e.MAC, PrivateIpAddress: e.PrivateIP, PrivateDnsName: dns, SourceDestCheck: true,
			InterfaceType: e.InterfaceType, Groups: v.groups(e.Groups),
			Attachment: &InstanceNetworkInterfaceAttachment{AttachmentId: e.AttachmentID, AttachTime: e.Created,
				DeleteOnTermination: true, Status: "attached"},
			PrivateIpAddresses: []InstancePrivateIpAddress{{PrivateIpAddress: e.PrivateIP, PrivateDnsName: dns, Primary: true}},
		})
	}
	return out
}

// reservations groups instances by reservation, in the order of their first
// instance.
func (v *instanceView) reservations(insts []model.Instance) []Reservation {
	out := []Reservation{}
	at := map[string]int{}
	for _, i := range insts {
		n, ok := at[i.ReservationID]
		if !ok {
			n = len(out)
			at[i.ReservationID] = n
			out = append(out, Reservation{ReservationId: i.ReservationID, OwnerId: i.Owner, Groups: []GroupIdentifier{}})
		}
		out[n].Instances = append(out[n].Instances, v.instance(i))
	}
	return out
}

// instanceFilters are DescribeInstances' filters, over instances as shownInstance
// shows them; names resolves security group IDs to names.
func instanceFilters(names map[string]string) filterFuncs[model.Instance] {
	one := func(f func(model.Instance) string) func(model.Instance) []string {
		return func(i model.Instance) []string {
			if s := f(i); s != "" {
				return []string{s}
			}
			return nil
		}
	}
	groupIDs := func(i model.Instance) []string { return i.SecurityGroups }
	groupNames := func(i model.Instance) []string {
		out := make([]string, 0, len(i.SecurityGroups))
		for _, g := range i.SecurityGroups {
			out = append(out, names[g])
		}
		return out
	}
	return filterFuncs[model.Instance]{
		"instance-id":                            one(func(i model.Instance) string { return i.ID }),
		"instance-state-name":                    one(func(i model.Instance) string { return i.State }),
		"instance-state-code":                    one(func(i model.Instance) string { return strconv.Itoa(int(model.InstanceStateCode(i.State))) }),
		"instance-type":                          one(func(i model.Instance) string { return i.InstanceType }),
		"image-id":                               one(func(i model.Instance) string { return i.ImageID }),
		"key-name":                               one(func(i model.Instance) string { return i.KeyName }),
		"client-token":                           one(func(i model.Instance) string { return i.ClientToken }),
		"reservation-id":                         one(func(i model.Instance) string { return i.ReservationID }),
		"owner-id":                               one(func(i model.Instance) string { return i.Owner }),
		"launch-index":                           one(func(i model.Instance) string { return strconv.Itoa(int(i.AMILaunchIndex)) }),
		"availability-zone":                      one(func(i model.Instance) string { return i.AZ }),
		"vpc-id":                                 one(func(i model.Instance) string { return i.VpcID }),
		"subnet-id":                              one(func(i model.Instance) string { return i.SubnetID }),
		"private-ip-address":                     one(func(i model.Instance) string { return i.PrivateIP }),
		"private-dns-name":                       one(func(i model.Instance) string { return i.PrivateDNSName }),
		"state-reason-code":                      one(func(i model.Instance) string { return i.StateReasonCode }),
		"architecture":                           one(func(model.Instance) string { return architecture() }),
		"tenancy":                                one(func(model.Instance) string { return "default" }),
		"monitoring-state":                       one(func(model.Instance) string { return "disabled" }),
		"network-interface.network-interface-id": one(func(i model.Instance) string { return i.ENIID }),
		"network-interface.addresses.private-ip-address": one(func(i model.Instance) string { return i.PrivateIP }),
		"network-interface.subnet-id":                    one(func(i model.Instance) string { return i.SubnetID }),
		"network-interface.vpc-id":                       one(func(i model.Instance) string { return i.VpcID }),
		"instance.group-id":                              groupIDs,
		"group-id":                                       groupIDs,
		"instance.group-name":                            groupNames,
		"group-name":                                     groupNames,
	}
}

// instanceNetworkInterfaceSpecification is the EC2 shape of an interface to
// create at launch; Strait's instances have one, at device index 0.
type instanceNetworkInterfaceSpecification struct {
	DeviceIndex              *int32
	SubnetId                 string
	Groups                   []string
	PrivateIpAddress         string
	Description              string
	NetworkInterfaceId       string
	AssociatePublicIpAddress *bool
}

type runInstancesRequest struct {
	ImageId           string
	InstanceType      string
	KeyName           string
	MinCount          int32
	MaxCount          int32
	SubnetId          string
	PrivateIpAddress  string
	SecurityGroupIds  []string
	SecurityGroups    []string
	NetworkInterfaces []instanceNetworkInterfaceSpecification
	Placement         *Placement
	TagSpecifications []TagSpecification
	ClientToken       string
	DryRun            bool
}

func (a *API) runInstances(ctx context.Context, c *caller, req *runInstancesRequest) (*Reservation, error) {
	in := network.RunInstancesInput{
		SubnetID: req.SubnetId, PrivateIP: req.PrivateIpAddress, SecurityGroupIDs: req.SecurityGroupIds,
		ImageID: req.ImageId, InstanceType: req.InstanceType, KeyName: req.KeyName,
		MinCount: req.MinCount, MaxCount: req.MaxCount, ClientToken: req.ClientToken,
	}
	if err := primaryInterface(req, &in); err != nil {
		return nil, err
	}
	if len(req.SecurityGroups) > 0 && in.SubnetID != "" {
		return nil, model.WithReason(model.ErrInvalid, model.ReasonParameterCombination, "The parameter groupName cannot be used with the parameter subnet")
	}
	// Without a subnet the instance goes to the default VPC, whose groups names name.
	for _, name := range req.SecurityGroups {
		g, err := a.ctl.SecurityGroupByName(ctx, c.Account, name)
		if err != nil {
			return nil, err
		}
		in.SecurityGroupIDs = append(in.SecurityGroupIDs, g.ID)
	}
	if p := req.Placement; p != nil {
		in.AZ = p.AvailabilityZone
		if in.AZ == "" && p.AvailabilityZoneId != "" {
			for _, z := range a.ctl.Zones() {
				if z.ZoneID == p.AvailabilityZoneId {
					in.AZ = z.Name
				}
			}
			if in.AZ == "" {
				return nil, model.Invalid("Value (%s) for parameter availabilityZoneId is invalid.", p.AvailabilityZoneId)
			}
		}
	}
	tags, err := splitTagSpecs(req.TagSpecifications, "instance", "network-interface")
	if err != nil {
		return nil, err
	}
	in.Tags, in.ENITags = tags["instance"], tags["network-interface"]
	insts, err := a.ctl.RunInstances(ctx, c.Account, in)
	if err != nil {
		return nil, err
	}
	v, err := a.newInstanceView(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	r := v.reservations(insts)
	return &r[0], nil
}

// primaryInterface takes the subnet, groups and address from a launch's
// NetworkInterfaces, which may name only the primary interface, and only
// instead of the instance-level parameters.
func primaryInterface(req *runInstancesRequest, in *network.RunInstancesInput) error {
	if len(req.NetworkInterfaces) == 0 {
		return nil
	}
	combo := func(what string) error {
		return model.WithReason(model.ErrInvalid, model.ReasonParameterCombination, "Network interfaces and an instance-level %s may not be specified on the same request", what)
	}
	switch ni := req.NetworkInterfaces[0]; {
	case req.SubnetId != "":
		return combo("subnet ID")
	case len(req.SecurityGroupIds) > 0 || len(req.SecurityGroups) > 0:
		return combo("security groups")
	case req.PrivateIpAddress != "":
		return combo("private IP address")
	case len(req.NetworkInterfaces) > 1:
		return model.Unsupported("Strait's instances have one network interface: give a single NetworkInterface, with DeviceIndex 0")
	case ni.DeviceIndex == nil:
		return model.Invalid("Each network interface requires a device index.")
	case *ni.DeviceIndex != 0:
		return model.Invalid("The primary network interface must have device index 0, not %d", *ni.DeviceIndex)
	case ni.NetworkInterfaceId != "":
		return model.Unsupported("Launching with an existing network interface is not supported: give SubnetId instead")
	case ni.AssociatePublicIpAddress != nil && *ni.AssociatePublicIpAddress:
		return model.Unsupported("Strait's instances have private addresses only: AssociatePublicIpAddress must be false")
	default:
		in.SubnetID, in.SecurityGroupIDs, in.PrivateIP, in.ENIDescription = ni.SubnetId, ni.Groups, ni.PrivateIpAddress, ni.Description
		return nil
	}
}

// splitTagSpecs collects the tags of a request's tag specifications by resource
// type; a type not listed is an error, as in EC2.
func splitTagSpecs(specs []TagSpecification, types ...string) (map[string]model.Tags, error) {
	by := map[string][]TagSpecification{}
	for _, s := range specs {
		if !slices.Contains(types, s.ResourceType) {
			return nil, model.Invalid("'%s' is not a valid taggable resource type for this operation; expected one of %q.", s.ResourceType, types)
		}
		by[s.ResourceType] = append(by[s.ResourceType], s)
	}
	out := map[string]model.Tags{}
	for t, ss := range by {
		tags, err := tagsFor(ss, t)
		if err != nil {
			return nil, err
		}
		out[t] = tags
	}
	return out, nil
}

type describeInstancesRequest struct {
	InstanceIds []string
	Filters     []Filter
	MaxResults  int32
	NextToken   string
	DryRun      bool
}

type describeInstancesResponse struct {
	Reservations []Reservation
	NextToken    string
}

func (a *API) describeInstances(ctx context.Context, c *caller, req *describeInstancesRequest) (*describeInstancesResponse, error) {
	if len(req.InstanceIds) > 0 && req.MaxResults != 0 {
		return nil, model.WithReason(model.ErrInvalid, model.ReasonParameterCombination, "The parameter instancesSet cannot be used with the parameter maxResults")
	}
	if err := checkIDs(model.KindInstance, model.PrefixInstance, req.InstanceIds); err != nil {
		return nil, err
	}
	all, err := a.ctl.Instances(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	for n, i := range all {
		all[n] = shownInstance(i)
	}
	v, err := a.newInstanceView(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	page, next, err := describe(all, query[model.Instance]{
		IDs: req.InstanceIds, Kind: model.KindInstance, IDOf: func(i model.Instance) string { return i.ID },
		Filters: req.Filters, Funcs: instanceFilters(v.groupNames), TagsOf: func(i model.Instance) model.Tags { return i.Tags },
		MaxResults: req.MaxResults, NextToken: req.NextToken,
	}, func(i model.Instance) model.Instance { return i })
	if err != nil {
		return nil, err
	}
	return &describeInstancesResponse{Reservations: v.reservations(page), NextToken: next}, nil
}

type terminateInstancesRequest struct {
	InstanceIds []string
	DryRun      bool
}

type terminateInstancesResponse struct {
	TerminatingInstances []InstanceStateChange
}

func (a *API) terminateInstances(ctx context.Context, c *caller, req *terminateInstancesRequest) (*terminateInstancesResponse, error) {
	changes, err := a.ctl.TerminateInstances(ctx, c.Account, req.InstanceIds)
	if err != nil {
		return nil, err
	}
	out := &terminateInstancesResponse{TerminatingInstances: []InstanceStateChange{}}
	for _, ch := range changes {
		out.TerminatingInstances = append(out.TerminatingInstances, InstanceStateChange{
			InstanceId: ch.ID, CurrentState: instanceState(ch.Current), PreviousState: instanceState(ch.Previous),
		})
	}
	return out, nil
}
