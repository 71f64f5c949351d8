package endpoints

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"strait/internal/control/core"
	"strait/internal/control/network"
	"strait/internal/model"
	"strait/internal/store"
)

// DefaultEndpointPolicy is the policy of an interface endpoint created without one
// (or reset): full access, as AWS shows it — no Version, unlike a gateway
// endpoint's default (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html).
const DefaultEndpointPolicy = `{"Statement":[{"Action":"*","Effect":"Allow","Principal":"*","Resource":"*"}]}`

// EndpointHostedZoneID is the hosted zone of the regional and zonal endpoint names
// (AWS's zone for vpce.amazonaws.com in us-east-1; one fixed value for every region).
const EndpointHostedZoneID = "Z7HUB22UULQXV"

// CreateEndpointInput is what CreateEndpoint needs.
type CreateEndpointInput struct {
	Type             string // "Interface"; "" means Gateway, as in AWS
	VpcID            string
	ServiceName      string
	SubnetIDs        []string
	SecurityGroupIDs []string
	// PrivateDNSEnabled defaults to true when the service has a verified private DNS
	// name, and to false otherwise, when nil.
	PrivateDNSEnabled *bool
	PolicyDocument    string
	IPAddressType     string
	DNSRecordIPType   string
	Tags              model.Tags
	ClientToken       string
}

// CreateEndpoint creates an interface endpoint to a service the caller may see: one
// requester-managed ENI per subnet. It waits in pendingAcceptance when the service
// requires acceptance (unless the caller owns the service), else starts pending and
// becomes available once the service is (see Settle).
func (c *PrivateLink) CreateEndpoint(ctx context.Context, acct string, in CreateEndpointInput) (model.Endpoint, error) {
	tok, prev, found, err := core.Idempotent[model.Endpoint](ctx, c.Base, acct, model.KindEndpoint, in.ClientToken, in)
	if err != nil || found {
		return prev, err
	}
	if err := checkEndpointType(in.Type); err != nil {
		return model.Endpoint{}, err
	}
	if in.ServiceName == "" {
		return model.Endpoint{}, model.Missing("ServiceName")
	}
	if err := checkEndpointIPTypes(in.IPAddressType, in.DNSRecordIPType); err != nil {
		return model.Endpoint{}, err
	}
	vpc, err := c.net.Vpc(ctx, acct, in.VpcID)
	if err != nil {
		return model.Endpoint{}, err
	}
	svc, err := c.ServiceByName(ctx, acct, in.ServiceName)
	if err != nil {
		return model.Endpoint{}, err
	}
	subnetIDs := core.Dedupe(in.SubnetIDs)
	if len(subnetIDs) == 0 {
		return model.Endpoint{}, invalidParameter("An interface endpoint needs at least one subnet (SubnetIds)")
	}
	subnets, err := c.endpointSubnets(ctx, acct, vpc.ID, svc, subnetIDs, nil)
	if err != nil {
		return model.Endpoint{}, err
	}
	groups := core.Dedupe(in.SecurityGroupIDs)
	if len(groups) == 0 {
		groups = []string{vpc.DefaultSecurityGroupID}
	}
	if err := c.net.CheckSecurityGroups(ctx, acct, vpc.ID, groups); err != nil {
		return model.Endpoint{}, err
	}
	enabled, err := privateDNSWanted(svc, in.PrivateDNSEnabled)
	if err != nil {
		return model.Endpoint{}, err
	}
	if enabled {
		if err := checkVpcDNS(vpc); err != nil {
			return model.Endpoint{}, err
		}
	}
	policy, err := checkPolicy(in.PolicyDocument)
	if err != nil {
		return model.Endpoint{}, err
	}
	state := model.EndpointPending
	if svc.AcceptanceRequired && svc.Owner != acct {
		state = model.EndpointPendingAcceptance
	}
	ep := model.Endpoint{
		ID: model.NewID(model.PrefixEndpoint), Owner: acct, VpcID: vpc.ID, ServiceID: svc.ID,
		ServiceName: svc.Name, ServiceOwner: svc.Owner, Type: "Interface", State: state,
		SecurityGroups: groups, PrivateDNSEnabled: enabled,
		DNSLabel:       core.RandomString("abcdefghijklmnopqrstuvwxyz0123456789", 8),
		PolicyDocument: policy, IPAddressType: "ipv4", Tags: in.Tags, Created: c.Now().UTC(),
		ConnectionID: model.NewID(model.PrefixConnection), DNSRecordIPType: in.DNSRecordIPType,
	}
	if ep.DNSRecordIPType == "" {
		ep.DNSRecordIPType = DNSRecordIPv4
	}
	err = c.Update(ctx, func(tx *store.Tx) error {
		if found, err := core.TxPrevious(tx, tok, &ep); err != nil || found {
			return err
		}
		cur, err := core.TxGet[model.EndpointService](tx, model.KindService, svc.ID)
		if err != nil || !ServiceAdmits(cur, acct) {
			return invalidServiceName(in.ServiceName)
		}
		// Rewriting the service makes a concurrent DeleteVpcEndpointServiceConfigurations
		// on another server conflict with this transaction.
		if err := tx.Put(core.Key(model.KindService, cur.ID), cur); err != nil {
			return err
		}
		if err := network.TxHaveGroups(tx, groups); err != nil {
			return err
		}
		if enabled {
			if err := HoldPrivateDNSName(tx, &ep, ServiceVerifiedName(cur)); err != nil {
				return err
			}
		}
		ep.SubnetIDs, ep.ENIs, ep.AZs = nil, nil, nil
		if err := c.addEndpointENIs(tx, &ep, subnets); err != nil {
			return err
		}
		if err := tok.Record(tx, ep.ID); err != nil {
			return err
		}
		if err := c.recordConnectionEvent(ctx, tx, ep, model.EventConnect); err != nil {
			return err
		}
		return tx.Put(core.Key(model.KindEndpoint, ep.ID), ep)
	})
	return ep, err
}

func checkEndpointType(t string) error {
	switch t {
	case "Interface":
		return nil
	case "", "Gateway":
		return invalidParameter("Gateway endpoints are not supported: Strait serves interface endpoints only; set VpcEndpointType to Interface (the AWS default is Gateway)")
	}
	return invalidParameter("%s endpoints are not supported: Strait serves interface endpoints only; set VpcEndpointType to Interface", t)
}

// DNS record IP types an endpoint to an ipv4-only service may have.
const (
	DNSRecordIPv4           = "ipv4"
	DNSRecordServiceDefined = "service-defined"
)

// EndpointDNSRecordIPType is an endpoint's DnsOptions.DnsRecordIpType (ipv4 for
// records that predate the field).
func EndpointDNSRecordIPType(ep model.Endpoint) string {
	if ep.DNSRecordIPType == "" {
		return DNSRecordIPv4
	}
	return ep.DNSRecordIPType
}

// checkEndpointIPTypes accepts the address and DNS record types of an endpoint to
// an ipv4-only service: ipv4, and for DNS records also service-defined; ipv6 and
// dualstack are InvalidParameter, as AWS answers for a service without IPv6.
func checkEndpointIPTypes(ipType, dnsType string) error {
	if ipType != "" && ipType != "ipv4" {
		return invalidParameter("IP address type '%s' is not supported: Strait endpoints are ipv4 only", ipType)
	}
	if dnsType != "" && dnsType != DNSRecordIPv4 && dnsType != DNSRecordServiceDefined {
		return invalidParameter("DnsRecordIpType '%s' is not supported: the service supports ipv4 only; use ipv4 or service-defined", dnsType)
	}
	return nil
}

func checkPolicy(doc string) (string, error) {
	if doc == "" {
		return DefaultEndpointPolicy, nil
	}
	if !json.Valid([]byte(doc)) {
		return "", invalidParameter("The policy document is not valid JSON")
	}
	return doc, nil
}

// privateDNSWanted decides whether an endpoint gets private DNS: an explicit true
// needs a verified name on the service; an omitted value means true exactly when
// the service has one.
func privateDNSWanted(svc model.EndpointService, want *bool) (bool, error) {
	verified := ServiceVerifiedName(svc) != ""
	if want == nil {
		return verified, nil
	}
	if *want && !verified {
		return false, invalidParameter("Private DNS can only be enabled if the service has a verified private DNS name (service %s)", svc.ID)
	}
	return *want, nil
}

func checkVpcDNS(vpc model.Vpc) error {
	if !vpc.EnableDNSSupport || !vpc.EnableDNSHostnames {
		return invalidParameter("Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for %s", vpc.ID)
	}
	return nil
}

func PrivateDNSKey(vpcID, name string) string {
	return model.KindPrivateDNSName + "/" + vpcID + "/" + name
}

// HoldPrivateDNSName claims, inside tx, a private DNS name for an endpoint in its
// VPC: one endpoint per name per VPC.
func HoldPrivateDNSName(tx *store.Tx, ep *model.Endpoint, name string) error {
	if name == "" {
		return nil
	}
	var holder string
	if ok, err := tx.Get(PrivateDNSKey(ep.VpcID, name), &holder); err != nil {
		return err
	} else if ok && holder != ep.ID {
		return model.WithReason(model.ErrConflict, model.ReasonDomainTaken, "private-dns-enabled cannot be set because there is already a conflicting DNS domain for %s in the VPC %s (held by %s)", name, ep.VpcID, holder)
	}
	ep.PrivateDNSName = name
	return tx.Put(PrivateDNSKey(ep.VpcID, name), ep.ID)
}

// ReleasePrivateDNSName gives up, inside tx, the name an endpoint holds.
func ReleasePrivateDNSName(tx *store.Tx, ep *model.Endpoint) {
	if ep.PrivateDNSName == "" {
		return
	}
	var holder string
	if ok, _ := tx.Get(PrivateDNSKey(ep.VpcID, ep.PrivateDNSName), &holder); ok && holder == ep.ID {
		tx.Delete(PrivateDNSKey(ep.VpcID, ep.PrivateDNSName))
	}
	ep.PrivateDNSName = ""
}

// endpointSubnets checks subnets for an endpoint: the caller's, in the endpoint's
// VPC, in zones the service supports, at most one per zone (counting the zones in
// taken, subnet by zone, already used by the endpoint).
func (c *PrivateLink) endpointSubnets(ctx context.Context, acct, vpcID string, svc model.EndpointService, ids []string, taken map[string]string) ([]model.Subnet, error) {
	used := map[string]string{}
	for az, id := range taken {
		used[az] = id
	}
	var out []model.Subnet
	for _, id := range ids {
		sn, err := c.net.Subnet(ctx, acct, id)
		if err != nil {
			return nil, err
		}
		if sn.VpcID != vpcID {
			return nil, invalidParameter("The subnet ID '%s' does not belong to the VPC %s", id, vpcID)
		}
		if _, dup := used[sn.AZ]; dup {
			return nil, duplicateSubnetZone(id)
		}
		if !slices.Contains(svc.AZs, sn.AZ) {
			return nil, invalidParameter("The VPC endpoint service %s does not support the availability zone of the subnet: %s. Supported availability zones: %s.",
				svc.Name, id, strings.Join(svc.AZs, ", "))
		}
		used[sn.AZ] = id
		out = append(out, sn)
	}
	return out, nil
}

// duplicateSubnetZone is the error for a second endpoint subnet in one zone.
func duplicateSubnetZone(id string) *model.Error {
	return model.WithReason(model.ErrInvalid, model.ReasonSubnetsInSameZone, "Found another VPC endpoint subnet in the availability zone of %s. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service.", id)
}

// addEndpointENIs creates, inside tx, the endpoint's interface in each subnet.
func (c *PrivateLink) addEndpointENIs(tx *store.Tx, ep *model.Endpoint, subnets []model.Subnet) error {
	for _, sn := range subnets {
		eni, err := c.net.CreateENI(tx, network.ENISpec{
			SubnetID: sn.ID, Owner: ep.Owner, InterfaceType: model.ENITypeEndpoint,
			Description: "VPC Endpoint Interface " + ep.ID, RequesterID: model.ENIRequesterVPCE,
			RequesterManaged: true, AttachedTo: ep.ID, Groups: ep.SecurityGroups,
		})
		if err != nil {
			return err
		}
		ep.SubnetIDs = append(ep.SubnetIDs, sn.ID)
		ep.ENIs = append(ep.ENIs, eni.ID)
		ep.AZs = append(ep.AZs, sn.AZ)
	}
	slices.Sort(ep.AZs)
	return nil
}

// ownEndpoint reads one of the account's endpoints.
func (c *PrivateLink) ownEndpoint(ctx context.Context, acct, id string) (model.Endpoint, error) {
	return core.GetOwned(ctx, c.Store(), acct, model.KindEndpoint, model.PrefixEndpoint, id, func(ep model.Endpoint) string { return ep.Owner })
}

// DeleteEndpoints deletes endpoints of the account: each goes to deleting at once,
// gives up its private DNS name, and disappears with its interfaces on the next
// settle. An ID that is not one of the account's endpoints fails with
// InvalidVpcEndpoint.NotFound; only the endpoint's owner can delete it.
func (c *PrivateLink) DeleteEndpoints(ctx context.Context, acct string, ids []string) ([]core.ItemError, error) {
	return core.EachID(ids, func(id string) error { return c.deleteEndpoint(ctx, acct, id) })
}

func (c *PrivateLink) deleteEndpoint(ctx context.Context, acct, id string) error {
	notFound := &model.Error{Err: model.ErrNotFound, Kind: model.KindEndpoint, ID: id, Reason: model.ReasonEndpointGone,
		Msg: fmt.Sprintf("The Vpc Endpoint Id '%s' does not exist", id)}
	if !model.ValidID(model.PrefixEndpoint, id) {
		return &model.Error{Err: model.ErrInvalid, Kind: model.KindEndpoint, ID: id, Reason: model.ReasonMalformedEndpointID,
			Msg: fmt.Sprintf("Invalid Id: '%s'", id)}
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		ep, err := core.TxGet[model.Endpoint](tx, model.KindEndpoint, id)
		if err != nil || ep.Owner != acct {
			return notFound
		}
		if ep.State == model.EndpointDeleting || ep.State == model.EndpointDeleted {
			return nil
		}
		ep.State = model.EndpointDeleting
		ReleasePrivateDNSName(tx, &ep)
		if err := c.recordConnectionEvent(ctx, tx, ep, model.EventDelete); err != nil {
			return err
		}
		return tx.Put(core.Key(model.KindEndpoint, id), ep)
	})
}
