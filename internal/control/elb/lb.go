package elb

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"strait/internal/control/core"
	"strait/internal/control/network"
	"strait/internal/model"
	"strait/internal/store"
)

// Load balancer types and schemes.
const (
	LBTypeNetwork        = "network"
	LBTypeApplication    = "application"
	LBSchemeInternal     = "internal"
	LBSchemeInternetFace = "internet-facing"
)

// nlbHostedZones are the Route 53 zones of NLB DNS names, by region.
var nlbHostedZones = map[string]string{"us-east-1": "Z26RNL4JYFTOTI"}

// SubnetMapping places a load balancer node in a subnet, optionally at a chosen
// private address.
type SubnetMapping struct {
	SubnetID    string
	PrivateIPv4 string
}

// CreateLoadBalancerInput is what CreateLoadBalancer needs. Either Subnets or
// SubnetMappings lists the subnets, one per availability zone.
type CreateLoadBalancerInput struct {
	Name           string
	Type           string // only "network"
	Scheme         string // "internal" or "internet-facing" (the default)
	IPAddressType  string // only "ipv4" (the default)
	Subnets        []string
	SubnetMappings []SubnetMapping
	SecurityGroups []string
	Tags           []ELBTag
	// CrossZone turns cross-zone load balancing on from the start (the published-
	// service layer wants it; the AWS API sets it with ModifyLoadBalancerAttributes).
	CrossZone bool
}

// lbPlan is a checked CreateLoadBalancerInput.
type lbPlan struct {
	in       CreateLoadBalancerInput
	vpcID    string
	mappings []SubnetMapping
	subnets  []model.Subnet
	groups   []string
	tags     model.Tags
}

// CreateLoadBalancer creates a network load balancer with one node (a
// requester-managed ENI) in each of its subnets. It starts provisioning and becomes
// active once realized. Asking again for a load balancer with the same name and
// settings returns the existing one.
func (c *ELB) CreateLoadBalancer(ctx context.Context, acct string, in CreateLoadBalancerInput) (model.LoadBalancer, error) {
	p, err := c.planLoadBalancer(ctx, acct, in)
	if err != nil {
		return model.LoadBalancer{}, err
	}
	hex := model.RandomHex(16)
	arn := model.ELBARN(c.Region(), acct, "loadbalancer/net/"+in.Name+"/"+hex)
	var lb model.LoadBalancer
	err = c.Update(ctx, func(tx *store.Tx) error {
		if err := network.TxHaveGroups(tx, p.groups); err != nil {
			return err
		}
		var existing string
		if ok, err := tx.Get(lbNameKey(acct, in.Name), &existing); err != nil {
			return err
		} else if ok {
			old, err := core.TxGet[model.LoadBalancer](tx, model.KindLoadBalancer, existing)
			if err != nil {
				return err
			}
			if !p.matches(old) {
				return model.Duplicate(model.KindLoadBalancer, in.Name, "A load balancer with the same name '%s' exists, but with different settings", in.Name)
			}
			lb = old
			return nil
		}
		lb = c.newLoadBalancer(acct, arn, p)
		for _, m := range p.mappings {
			eni, err := c.net.CreateENI(tx, network.ENISpec{
				SubnetID: m.SubnetID, Owner: acct, InterfaceType: model.ENITypeNLB,
				Description: "ELB net/" + in.Name + "/" + hex, RequesterID: model.ENIRequesterELB,
				RequesterManaged: true, AttachedTo: arn, Groups: p.groups, PrivateIP: m.PrivateIPv4,
			})
			if err != nil {
				return err
			}
			node, err := txNewNode(tx, eni)
			if err != nil {
				return err
			}
			lb.Nodes = append(lb.Nodes, node)
		}
		if err := tx.Put(lbNameKey(acct, in.Name), hex); err != nil {
			return err
		}
		return tx.Put(core.Key(model.KindLoadBalancer, hex), lb)
	})
	return lb, err
}

func (c *ELB) newLoadBalancer(acct, arn string, p lbPlan) model.LoadBalancer {
	hex := model.ARNResourceID(arn)
	dns := fmt.Sprintf("%s-%s.elb.%s.%s", p.in.Name, hex, c.Region(), c.Domain())
	if p.in.Scheme == LBSchemeInternal {
		dns = "internal-" + dns
	}
	zone, ok := nlbHostedZones[c.Region()]
	if !ok {
		zone = nlbHostedZones["us-east-1"]
	}
	lb := model.LoadBalancer{
		ARN: arn, Name: p.in.Name, Owner: acct, Type: LBTypeNetwork, Scheme: p.in.Scheme, VpcID: p.vpcID,
		IPAddressType: p.in.IPAddressType, DNSName: dns, HostedZoneID: zone, State: model.LBStateProvisioning,
		SecurityGroups: p.groups, Attributes: defaultLBAttributes(), Tags: p.tags, Created: c.Now().UTC(),
	}
	if len(p.groups) > 0 {
		lb.EnforceSGInboundOnPrivateLink = "on"
	}
	if p.in.CrossZone {
		lb.Attributes[attrCrossZone] = "true"
	}
	return lb
}

// matches reports whether an existing load balancer has the settings asked for
// (tags aside), which makes CreateLoadBalancer return it instead of failing.
func (p lbPlan) matches(lb model.LoadBalancer) bool {
	if lb.Type != LBTypeNetwork || lb.Scheme != p.in.Scheme || lb.IPAddressType != p.in.IPAddressType ||
		!elbSameSet(lb.SecurityGroups, p.groups) || len(lb.Nodes) != len(p.mappings) {
		return false
	}
	for _, m := range p.mappings {
		i := slices.IndexFunc(lb.Nodes, func(n model.LBNode) bool { return n.SubnetID == m.SubnetID })
		if i < 0 || (m.PrivateIPv4 != "" && lb.Nodes[i].PrivateIP != m.PrivateIPv4) {
			return false
		}
	}
	return true
}

// planLoadBalancer checks a CreateLoadBalancer request against the caller's subnets
// and security groups.
func (c *ELB) planLoadBalancer(ctx context.Context, acct string, in CreateLoadBalancerInput) (lbPlan, error) {
	if err := checkELBName("Load balancer", in.Name); err != nil {
		return lbPlan{}, err
	}
	if strings.HasPrefix(in.Name, "internal-") {
		return lbPlan{}, model.Invalid("Load balancer name '%s' cannot begin with 'internal-'", in.Name)
	}
	switch in.Type {
	case LBTypeNetwork:
	case "", LBTypeApplication:
		return lbPlan{}, model.WithReason(model.ErrUnsupported, model.ReasonConfiguration, "Strait serves network load balancers only, not application load balancers (the type when none is given): use Type 'network'")
	default:
		return lbPlan{}, model.WithReason(model.ErrUnsupported, model.ReasonConfiguration, "Strait serves network load balancers only, not load balancers of type '%s': use Type 'network'", in.Type)
	}
	if in.Scheme == "" {
		in.Scheme = LBSchemeInternetFace
	}
	if in.Scheme != LBSchemeInternal && in.Scheme != LBSchemeInternetFace {
		return lbPlan{}, model.WithReason(model.ErrInvalid, model.ReasonScheme, "Scheme '%s' is not valid: use 'internal' or 'internet-facing'", in.Scheme)
	}
	if in.IPAddressType == "" {
		in.IPAddressType = "ipv4"
	}
	if in.IPAddressType != "ipv4" {
		return lbPlan{}, model.WithReason(model.ErrUnsupported, model.ReasonConfiguration, "IP address type '%s' is not supported: Strait load balancers are IPv4 only", in.IPAddressType)
	}
	p := lbPlan{in: in}
	if err := c.planSubnets(ctx, acct, &p); err != nil {
		return lbPlan{}, err
	}
	groups, err := c.planLBGroups(ctx, acct, p.vpcID, in.SecurityGroups)
	if err != nil {
		return lbPlan{}, err
	}
	p.groups = groups
	if p.tags, err = elbTagMap(in.Tags); err != nil {
		return lbPlan{}, err
	}
	return p, nil
}

// planSubnets resolves the request's subnets: all in one VPC, one per zone.
func (c *ELB) planSubnets(ctx context.Context, acct string, p *lbPlan) error {
	in := p.in
	switch {
	case len(in.Subnets) > 0 && len(in.SubnetMappings) > 0:
		return model.Invalid("You can specify subnets or subnet mappings, not both")
	case len(in.Subnets) == 0 && len(in.SubnetMappings) == 0:
		return model.Invalid("At least one subnet must be specified")
	}
	p.mappings = in.SubnetMappings
	for _, id := range in.Subnets {
		p.mappings = append(p.mappings, SubnetMapping{SubnetID: id})
	}
	zones := map[string]string{}
	for _, m := range p.mappings {
		sn, err := c.net.Subnet(ctx, acct, m.SubnetID)
		if err != nil {
			return err
		}
		if p.vpcID == "" {
			p.vpcID = sn.VpcID
		} else if sn.VpcID != p.vpcID {
			return model.WithReason(model.ErrInvalid, model.ReasonConfiguration, "All subnets of a load balancer must be in the same VPC: subnet '%s' is in VPC '%s', not '%s'", sn.ID, sn.VpcID, p.vpcID)
		}
		if other, dup := zones[sn.AZ]; dup {
			return model.WithReason(model.ErrInvalid, model.ReasonConfiguration, "You cannot specify multiple subnets in the same Availability Zone ('%s' and '%s' are both in %s)", other, sn.ID, sn.AZ)
		}
		zones[sn.AZ] = sn.ID
		if m.PrivateIPv4 != "" {
			if in.Scheme != LBSchemeInternal {
				return model.WithReason(model.ErrInvalid, model.ReasonConfiguration, "A private IPv4 address can be specified only for internal load balancers")
			}
			ip, err := netip.ParseAddr(m.PrivateIPv4)
			if err != nil || !ip.Is4() || !netip.MustParsePrefix(sn.CIDR).Contains(ip) {
				return model.WithReason(model.ErrInvalid, model.ReasonConfiguration, "The private IPv4 address '%s' is not in the range of subnet '%s' (%s)", m.PrivateIPv4, sn.ID, sn.CIDR)
			}
		}
		p.subnets = append(p.subnets, sn)
	}
	return nil
}

// maxLBGroups is how many security groups a load balancer may have.
const maxLBGroups = 5

// planLBGroups checks the load balancer's security groups: the caller's, in its VPC.
func (c *ELB) planLBGroups(ctx context.Context, acct, vpcID string, ids []string) ([]string, error) {
	var groups []string
	for _, id := range ids {
		groups = elbAppendOnce(groups, id)
	}
	if len(groups) > maxLBGroups {
		return nil, model.InvalidKind(model.KindSecurityGroup, "", "A load balancer can have at most %d security groups, not %d", maxLBGroups, len(groups))
	}
	if err := c.net.CheckSecurityGroups(ctx, acct, vpcID, groups); err != nil {
		return nil, err
	}
	return groups, nil
}

func lbNameKey(acct, name string) string { return "lbname/" + acct + "/" + name }

// LoadBalancer returns one of the account's load balancers by ARN.
func (c *ELB) LoadBalancer(ctx context.Context, acct, arn string) (model.LoadBalancer, error) {
	return getELB[model.LoadBalancer](ctx, c, acct, arn, model.KindLoadBalancer)
}

// LoadBalancers lists the account's load balancers.
func (c *ELB) LoadBalancers(ctx context.Context, acct string) ([]model.LoadBalancer, error) {
	all, err := core.List[model.LoadBalancer](ctx, c.Store(), model.KindLoadBalancer)
	return core.FilterOwner(all, acct, func(lb model.LoadBalancer) string { return lb.Owner }), err
}

// LoadBalancersByName returns the account's load balancers with the given names, in
// that order; a missing name is LoadBalancerNotFound.
func (c *ELB) LoadBalancersByName(ctx context.Context, acct string, names []string) ([]model.LoadBalancer, error) {
	all, err := c.LoadBalancers(ctx, acct)
	if err != nil {
		return nil, err
	}
	var out []model.LoadBalancer
	var missing []string
	for _, n := range names {
		i := slices.IndexFunc(all, func(lb model.LoadBalancer) bool { return lb.Name == n })
		if i < 0 {
			missing = append(missing, n)
		} else if !slices.ContainsFunc(out, func(lb model.LoadBalancer) bool { return lb.Name == n }) {
			out = append(out, all[i])
		}
	}
	if len(missing) > 0 {
		return nil, &model.Error{Err: model.ErrNotFound, Kind: model.KindLoadBalancer, ID: missing[0],
			Msg: fmt.Sprintf("Load balancers '[%s]' not found", strings.Join(missing, ", "))}
	}
	return out, nil
}

// DeleteLoadBalancer deletes a load balancer with its listeners and frees its nodes'
// addresses. Deleting a load balancer that no longer exists succeeds, as in AWS.
func (c *ELB) DeleteLoadBalancer(ctx context.Context, acct, arn string) error {
	if _, err := c.elbRef(acct, arn, model.KindLoadBalancer); err != nil {
		return err
	}
	lb, err := c.LoadBalancer(ctx, acct, arn)
	if errors.Is(err, model.ErrNotFound) {
		return nil // the ARN is the caller's: the load balancer was deleted
	}
	if err != nil {
		return err
	}
	if err := c.checkLBDeletable(ctx, lb); err != nil {
		return err
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		lb, err := txGetELB[model.LoadBalancer](c, tx, acct, arn, model.KindLoadBalancer)
		if errors.Is(err, model.ErrNotFound) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return err
		}
		// Checked again inside the transaction: an endpoint service created for
		// the load balancer since the check above must keep it.
		if err := txCheckLBDeletable(tx, lb); err != nil {
			return err
		}
		for _, l := range lb.Listeners {
			if err := c.txDeleteListener(tx, acct, l); err != nil {
				return err
			}
		}
		for _, n := range lb.Nodes {
			if err := txDeleteNode(tx, n); err != nil {
				return err
			}
		}
		tx.Delete(lbNameKey(acct, lb.Name))
		tx.Delete(core.Key(model.KindLoadBalancer, model.ARNResourceID(arn)))
		return nil
	})
}

func deletionProtected(arn string) error {
	return model.WithReason(model.ErrIncorrectState, model.ReasonNotPermitted, "Load balancer '%s' cannot be deleted because deletion protection is enabled", arn)
}

// checkLBDeletable refuses to delete a protected load balancer or one that an
// endpoint service uses.
func (c *ELB) checkLBDeletable(ctx context.Context, lb model.LoadBalancer) error {
	if lb.Attributes[attrDeletionProtection] == "true" {
		return deletionProtected(lb.ARN)
	}
	svc, err := c.LoadBalancerService(ctx, lb.ARN)
	if err != nil {
		return err
	}
	if svc != "" {
		return lbInUse(lb.ARN)
	}
	return nil
}

// txCheckLBDeletable is checkLBDeletable inside a transaction, through the index
// of the service that publishes each load balancer (written in the same
// transaction as the service).
func txCheckLBDeletable(tx *store.Tx, lb model.LoadBalancer) error {
	if lb.Attributes[attrDeletionProtection] == "true" {
		return deletionProtected(lb.ARN)
	}
	if tx.Exists(LBServiceKey(model.ARNResourceID(lb.ARN))) {
		return lbInUse(lb.ARN)
	}
	return nil
}

func lbInUse(arn string) error {
	return model.InUse(model.KindLoadBalancer, arn, "Load balancer '%s' cannot be deleted because it is currently associated with another service", arn)
}

// LBServiceKey is the store key naming the endpoint service that publishes a
// load balancer.
func LBServiceKey(lbID string) string { return "lbservice/" + lbID }

// LoadBalancerService returns the ID of the endpoint service that publishes the load
// balancer with the given ARN, or "" when none does. DeleteLoadBalancer refuses to
// delete a published load balancer, as in AWS.
func (c *ELB) LoadBalancerService(ctx context.Context, arn string) (string, error) {
	var id string
	if err := c.Store().Get(ctx, LBServiceKey(model.ARNResourceID(arn)), &id); err != nil {
		if core.IsNotFound(err) {
			return "", nil
		}
		return "", err
	}
	return id, nil
}
