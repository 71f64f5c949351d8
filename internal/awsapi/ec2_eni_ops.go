package awsapi

import (
	"context"

	"strait/internal/control/network"
	"strait/internal/model"
)

func (a *API) eniActions() map[string]handler {
	return map[string]handler{
		"CreateNetworkInterface":            bind(a.createNetworkInterface),
		"DeleteNetworkInterface":            bind(a.deleteNetworkInterface),
		"DescribeNetworkInterfaceAttribute": bind(a.describeNetworkInterfaceAttribute),
		"ModifyNetworkInterfaceAttribute":   bind(a.modifyNetworkInterfaceAttribute),
	}
}

type createNetworkInterfaceRequest struct {
	SubnetId          string
	Description       string
	Groups            []string
	PrivateIpAddress  string
	TagSpecifications []TagSpecification
	ClientToken       string
	DryRun            bool

	// Refused: one IPv4 address per interface, no IPv6, no prefixes, no EFA or trunk.
	InterfaceType                  string
	SecondaryPrivateIpAddressCount int32
	PrivateIpAddresses             []struct{ PrivateIpAddress string }
	Ipv6AddressCount               int32
	Ipv6Addresses                  []struct{ Ipv6Address string }
	Ipv4PrefixCount                int32
	Ipv6PrefixCount                int32
	EnablePrimaryIpv6              bool
}

type createNetworkInterfaceResponse struct {
	NetworkInterface NetworkInterface
	ClientToken      string
}

// createNetworkInterface follows
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateNetworkInterface.html
// for an interface with one private IPv4 address.
func (a *API) createNetworkInterface(ctx context.Context, c *caller, req *createNetworkInterfaceRequest) (*createNetworkInterfaceResponse, error) {
	if err := unsupported("CreateNetworkInterface", "Strait's interfaces have one private IPv4 address and are of type interface", map[string]bool{
		"InterfaceType": req.InterfaceType != "" && req.InterfaceType != "interface", "SecondaryPrivateIpAddressCount": req.SecondaryPrivateIpAddressCount > 0,
		"PrivateIpAddresses": len(req.PrivateIpAddresses) > 1, "Ipv6AddressCount": req.Ipv6AddressCount > 0, "Ipv6Addresses": len(req.Ipv6Addresses) > 0,
		"Ipv4PrefixCount": req.Ipv4PrefixCount > 0, "Ipv6PrefixCount": req.Ipv6PrefixCount > 0, "EnablePrimaryIpv6": req.EnablePrimaryIpv6,
	}); err != nil {
		return nil, err
	}
	if req.SubnetId == "" {
		return nil, model.Missing("SubnetId")
	}
	ip := req.PrivateIpAddress
	if ip == "" && len(req.PrivateIpAddresses) == 1 {
		ip = req.PrivateIpAddresses[0].PrivateIpAddress
	}
	tags, err := tagsFor(req.TagSpecifications, "network-interface")
	if err != nil {
		return nil, err
	}
	eni, err := a.ctl.CreateNetworkInterface(ctx, c.Account, network.CreateNetworkInterfaceInput{
		SubnetID: req.SubnetId, Description: req.Description, Groups: req.Groups, PrivateIP: ip, Tags: tags,
	})
	if err != nil {
		return nil, err
	}
	out, err := a.renderENI(ctx, c, eni)
	if err != nil {
		return nil, err
	}
	return &createNetworkInterfaceResponse{NetworkInterface: out, ClientToken: req.ClientToken}, nil
}

// renderENI is one interface as DescribeNetworkInterfaces shows it.
func (a *API) renderENI(ctx context.Context, c *caller, eni model.NetworkInterface) (NetworkInterface, error) {
	groups, err := a.ctl.SecurityGroups(ctx, c.Account)
	if err != nil {
		return NetworkInterface{}, err
	}
	names := map[string]string{}
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	zoneIDs := map[string]string{}
	for _, z := range a.ctl.Zones() {
		zoneIDs[z.Name] = z.ZoneID
	}
	return a.toNetworkInterface(eni, names, zoneIDs), nil
}

type networkInterfaceIDRequest struct {
	NetworkInterfaceId string
	DryRun             bool
}

func (a *API) deleteNetworkInterface(ctx context.Context, c *caller, req *networkInterfaceIDRequest) (*emptyResponse, error) {
	return &emptyResponse{}, a.ctl.DeleteNetworkInterface(ctx, c.Account, req.NetworkInterfaceId)
}

type describeNetworkInterfaceAttributeRequest struct {
	NetworkInterfaceId string
	Attribute          string
	DryRun             bool
}

type describeNetworkInterfaceAttributeResponse struct {
	NetworkInterfaceId       string
	Description              *AttributeValue
	Groups                   []GroupIdentifier
	SourceDestCheck          *AttributeBooleanValue
	Attachment               *NetworkInterfaceAttachment
	AssociatePublicIpAddress *bool
}

// describeNetworkInterfaceAttribute answers one attribute, as
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaceAttribute.html
// describes: description, groupSet, sourceDestCheck, attachment or
// associatePublicIpAddress.
func (a *API) describeNetworkInterfaceAttribute(ctx context.Context, c *caller, req *describeNetworkInterfaceAttributeRequest) (*describeNetworkInterfaceAttributeResponse, error) {
	eni, err := a.ctl.NetworkInterface(ctx, c.Account, req.NetworkInterfaceId)
	if err != nil {
		return nil, err
	}
	full, err := a.renderENI(ctx, c, eni)
	if err != nil {
		return nil, err
	}
	out := &describeNetworkInterfaceAttributeResponse{NetworkInterfaceId: eni.ID}
	switch req.Attribute {
	case "description":
		out.Description = &AttributeValue{Value: eni.Description}
	case "groupSet":
		out.Groups = full.Groups
	case "sourceDestCheck":
		out.SourceDestCheck = &AttributeBooleanValue{Value: &full.SourceDestCheck}
	case "attachment":
		out.Attachment = full.Attachment
	case "associatePublicIpAddress":
		f := false
		out.AssociatePublicIpAddress = &f
	case "":
		return nil, model.Missing("Attribute")
	default:
		return nil, model.Invalid("Value (%s) for parameter attribute is invalid. Unknown attribute.", req.Attribute)
	}
	return out, nil
}

type modifyNetworkInterfaceAttributeRequest struct {
	NetworkInterfaceId string
	Description        *AttributeValue
	Groups             []string
	SourceDestCheck    *AttributeBooleanValue
	DryRun             bool

	// Refused: no public addresses, no attachments after launch, no IPv6.
	AssociatePublicIpAddress *bool
	Attachment               *struct{ AttachmentId string }
	EnablePrimaryIpv6        *bool
}

// modifyNetworkInterfaceAttribute changes an interface's description or security
// groups (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyNetworkInterfaceAttribute.html).
// Source/destination checking stays on (false is refused), and public addresses,
// attachment changes and IPv6 are UnsupportedOperation.
func (a *API) modifyNetworkInterfaceAttribute(ctx context.Context, c *caller, req *modifyNetworkInterfaceAttributeRequest) (*emptyResponse, error) {
	if err := unsupported("ModifyNetworkInterfaceAttribute", "Strait's interfaces have no public address, keep their attachment and source/destination checking, and are IPv4 only", map[string]bool{
		"AssociatePublicIpAddress": req.AssociatePublicIpAddress != nil && *req.AssociatePublicIpAddress, "Attachment": req.Attachment != nil,
		"EnablePrimaryIpv6": req.EnablePrimaryIpv6 != nil && *req.EnablePrimaryIpv6,
		"SourceDestCheck":   req.SourceDestCheck != nil && req.SourceDestCheck.Value != nil && !*req.SourceDestCheck.Value,
	}); err != nil {
		return nil, err
	}
	var in network.ModifyNetworkInterfaceInput
	if req.Description != nil {
		in.Description = &req.Description.Value
	}
	if len(req.Groups) > 0 {
		in.Groups = req.Groups
	}
	if in.Description == nil && in.Groups == nil && req.SourceDestCheck == nil {
		return nil, model.Missingf("The request must contain one attribute of the network interface to modify")
	}
	return &emptyResponse{}, a.ctl.ModifyNetworkInterfaceAttribute(ctx, c.Account, req.NetworkInterfaceId, in)
}
