package published

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"strait/internal/control/core"
	"strait/internal/control/elb"
	"strait/internal/control/endpoints"
	"strait/internal/model"
	"strait/internal/store"
)

// Published services are the provider's layer over load balancers and endpoint
// services: a named service with components, published through one PrivateLink
// resource that the reconciler turns into a network load balancer, target groups,
// listeners and an endpoint service (see the reconcile package). The operations here
// only record the desired state, one transaction each.

// maxComponents is how many components a published service may have (a load
// balancer has at most 50 listeners).
const maxComponents = elb.MaxListeners

var componentName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// CreatePublishedServiceInput is what CreatePublishedService needs. SubnetIDs
// defaults to one subnet of the VPC per availability zone.
type CreatePublishedServiceInput struct {
	Name       string
	VpcID      string
	SubnetIDs  []string
	Components []model.Component
}

// ComponentUpdate changes one component; nil fields are left alone.
type ComponentUpdate struct {
	Port              *int32
	Targets           *[]string
	PrivateLinkAccess *bool
}

// UpdatePublishedServiceInput changes a published service's components: removals
// first, then additions, then changes (by component name).
type UpdatePublishedServiceInput struct {
	AddComponents    []model.Component
	RemoveComponents []string
	Components       map[string]ComponentUpdate
}

func publishedID(acct, name string) string { return acct + "/" + name }

func publishedNotFound(name string) *model.Error {
	return &model.Error{Err: model.ErrNotFound, Kind: model.KindPublished, ID: name, Reason: model.ReasonPublishedServiceNotFound,
		Msg: fmt.Sprintf("The published service '%s' does not exist: list yours with `strait service list`", name)}
}

// CreatePublishedService records a new published service in one of the caller's
// VPCs. Nothing is realized until a PrivateLink resource is created for it.
func (c *Published) CreatePublishedService(ctx context.Context, acct string, in CreatePublishedServiceInput) (model.PublishedService, error) {
	if err := checkServiceName(in.Name); err != nil {
		return model.PublishedService{}, err
	}
	if _, err := c.net.Vpc(ctx, acct, in.VpcID); err != nil {
		return model.PublishedService{}, err
	}
	subnets, err := c.publishedSubnets(ctx, acct, in.VpcID, in.SubnetIDs)
	if err != nil {
		return model.PublishedService{}, err
	}
	comps := make([]model.Component, 0, len(in.Components))
	for _, comp := range in.Components {
		norm, err := checkComponent(comp)
		if err != nil {
			return model.PublishedService{}, err
		}
		comps = append(comps, norm)
	}
	if err := checkComponentSet(comps); err != nil {
		return model.PublishedService{}, err
	}
	svc := model.PublishedService{Name: in.Name, Owner: acct, VpcID: in.VpcID, SubnetIDs: subnets, Components: comps, Created: c.Now().UTC()}
	err = c.Update(ctx, func(tx *store.Tx) error {
		k := core.Key(model.KindPublished, publishedID(acct, in.Name))
		if tx.Exists(k) {
			return model.WithReason(model.ErrDuplicate, model.ReasonPublishedServiceExists, "A published service named '%s' already exists: choose another name, or change it with `strait service update`", in.Name)
		}
		if !tx.Exists(core.Key(model.KindVpc, in.VpcID)) {
			return model.NotFound(model.KindVpc, in.VpcID)
		}
		return tx.Put(k, svc)
	})
	return svc, err
}

// PublishedService returns one of the caller's published services.
func (c *Published) PublishedService(ctx context.Context, acct, name string) (model.PublishedService, error) {
	var svc model.PublishedService
	if err := checkServiceName(name); err != nil {
		return svc, publishedNotFound(name)
	}
	svc, err := core.Get[model.PublishedService](ctx, c.Store(), model.KindPublished, publishedID(acct, name))
	if core.IsNotFound(err) {
		return svc, publishedNotFound(name)
	}
	return svc, err
}

// PublishedServices lists the caller's published services, by name.
func (c *Published) PublishedServices(ctx context.Context, acct string) ([]model.PublishedService, error) {
	all, err := core.List[model.PublishedService](ctx, c.Store(), model.KindPublished)
	return core.FilterOwner(all, acct, func(s model.PublishedService) string { return s.Owner }), err
}

// AllPublishedServices lists every account's published services (for the reconciler).
func (c *Published) AllPublishedServices(ctx context.Context) ([]model.PublishedService, error) {
	return core.List[model.PublishedService](ctx, c.Store(), model.KindPublished)
}

// UpdatePublishedService adds, removes and changes components. With a PrivateLink
// resource, the reconciler then adds or removes the listeners of components whose
// access changed and updates their targets.
func (c *Published) UpdatePublishedService(ctx context.Context, acct, name string, in UpdatePublishedServiceInput) (model.PublishedService, error) {
	svc, err := c.PublishedService(ctx, acct, name)
	if err != nil {
		return svc, err
	}
	if _, err := applyComponentUpdate(svc.Components, in); err != nil {
		return svc, err
	}
	err = c.Update(ctx, func(tx *store.Tx) error {
		cur, err := core.TxGet[model.PublishedService](tx, model.KindPublished, publishedID(acct, name))
		if err != nil {
			return publishedNotFound(name)
		}
		comps, err := applyComponentUpdate(cur.Components, in)
		if err != nil {
			return err
		}
		cur.Components = comps
		svc = cur
		return tx.Put(core.Key(model.KindPublished, publishedID(acct, name)), cur)
	})
	return svc, err
}

// applyComponentUpdate returns the components after the update, checked.
func applyComponentUpdate(comps []model.Component, in UpdatePublishedServiceInput) ([]model.Component, error) {
	out := slices.Clone(comps)
	for _, n := range in.RemoveComponents {
		i := slices.IndexFunc(out, func(c model.Component) bool { return c.Name == n })
		if i < 0 {
			return nil, unknownComponent(n, out)
		}
		out = slices.Delete(out, i, i+1)
	}
	for _, add := range in.AddComponents {
		norm, err := checkComponent(add)
		if err != nil {
			return nil, err
		}
		out = append(out, norm)
	}
	for _, n := range core.SortedKeys(in.Components) {
		u := in.Components[n]
		i := slices.IndexFunc(out, func(c model.Component) bool { return c.Name == n })
		if i < 0 {
			return nil, unknownComponent(n, out)
		}
		comp := out[i]
		if u.Port != nil {
			comp.Port = *u.Port
		}
		if u.Targets != nil {
			comp.Targets = slices.Clone(*u.Targets)
		}
		if u.PrivateLinkAccess != nil {
			comp.PrivateLinkAccess = *u.PrivateLinkAccess
		}
		norm, err := checkComponent(comp)
		if err != nil {
			return nil, err
		}
		out[i] = norm
	}
	return out, checkComponentSet(out)
}

func unknownComponent(name string, comps []model.Component) error {
	names := make([]string, len(comps))
	for i, c := range comps {
		names[i] = c.Name
	}
	return model.WithReason(model.ErrInvalid, model.ReasonComponent, "The service has no component '%s' (its components: %s): add it with --add-component %s=PORT[:TARGET,…]", name, strings.Join(names, ", "), name)
}

// DeletePublishedService deletes a published service that has no PrivateLink resource.
func (c *Published) DeletePublishedService(ctx context.Context, acct, name string) error {
	if _, err := c.PublishedService(ctx, acct, name); err != nil {
		return err
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		k := core.Key(model.KindPublished, publishedID(acct, name))
		cur, err := core.TxGet[model.PublishedService](tx, model.KindPublished, publishedID(acct, name))
		if err != nil {
			return publishedNotFound(name)
		}
		if cur.PrivateLink != nil {
			return model.InUse(model.KindPublished, name,
				"The published service '%s' has a PrivateLink resource (state %s): delete it first with `strait privatelink delete %s`, then wait until it is gone",
				name, cur.PrivateLink.State, name)
		}
		tx.Delete(k)
		return nil
	})
}

// checkServiceName checks a published service's name: a DNS label (lowercase
// letters, digits and hyphens, at most 63 characters, no hyphen at either end).
func checkServiceName(name string) error {
	if !endpoints.ValidLabel(name) {
		return model.Invalid("Service name '%s' is not valid: use 1 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit", name)
	}
	return nil
}

// checkComponent checks one component and normalizes its targets ("IP:port" with
// the component's port dropped to "IP", duplicates removed).
func checkComponent(comp model.Component) (model.Component, error) {
	if !componentName.MatchString(comp.Name) {
		return comp, model.WithReason(model.ErrInvalid, model.ReasonComponent, "Component name '%s' is not valid: use 1 to 32 lowercase letters, digits, '_' and '-', starting with a letter (for example mysql or kafka_connect)", comp.Name)
	}
	if comp.Port < 1 || comp.Port > 65535 {
		return comp, model.WithReason(model.ErrInvalid, model.ReasonComponent, "The port of component '%s' must be from 1 to 65535, not %d", comp.Name, comp.Port)
	}
	var targets []string
	instances, ips := 0, 0
	for _, t := range comp.Targets {
		id, port, err := ParseComponentTarget(t, comp.Port)
		if err != nil {
			return comp, model.WithReason(model.ErrInvalid, model.ReasonTarget, "Target '%s' of component '%s' is not valid: %v", t, comp.Name, err)
		}
		norm := id
		if port != comp.Port {
			norm = fmt.Sprintf("%s:%d", id, port)
		}
		if strings.HasPrefix(id, "i-") {
			instances++
		} else {
			ips++
		}
		if !slices.Contains(targets, norm) {
			targets = append(targets, norm)
		}
	}
	if instances > 0 && ips > 0 {
		return comp, model.WithReason(model.ErrInvalid, model.ReasonTarget, "Component '%s' mixes instance IDs and IP addresses: a component's targets are all instances or all IP addresses", comp.Name)
	}
	comp.Targets = targets
	return comp, nil
}

// ParseComponentTarget splits a component target — "IP:port", "IP" or an instance
// ID "i-…" (optionally ":port") — into its ID and port (def when none is given).
func ParseComponentTarget(t string, def int32) (string, int32, error) {
	id, portStr, hasPort := strings.Cut(t, ":")
	port := def
	if hasPort {
		p, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil || p == 0 {
			return "", 0, fmt.Errorf("the port must be from 1 to 65535")
		}
		port = int32(p)
	}
	if strings.HasPrefix(id, "i-") {
		if !model.ValidID(model.PrefixInstance, id) {
			return "", 0, fmt.Errorf("an instance ID is i- followed by 8 or 17 hex digits")
		}
		return id, port, nil
	}
	ip, err := netip.ParseAddr(id)
	if err != nil || !ip.Is4() {
		return "", 0, fmt.Errorf("use IPV4:PORT, IPV4 or an instance ID (i-…)")
	}
	return ip.String(), port, nil
}

// checkComponentSet checks that component names and ports are distinct.
func checkComponentSet(comps []model.Component) error {
	if len(comps) > maxComponents {
		return model.WithReason(model.ErrLimit, model.ReasonComponent, "A service can have at most %d components", maxComponents)
	}
	for i, a := range comps {
		for _, b := range comps[:i] {
			if a.Name == b.Name {
				return model.WithReason(model.ErrDuplicate, model.ReasonComponent, "Component '%s' is given twice", a.Name)
			}
			if a.Port == b.Port {
				return model.WithReason(model.ErrDuplicate, model.ReasonComponent, "Components '%s' and '%s' both use port %d: each component needs its own port", b.Name, a.Name, a.Port)
			}
		}
	}
	return nil
}

// publishedSubnets checks the subnets of a service (the caller's, in the VPC, at
// most one per availability zone) or picks one per zone when none are given.
func (c *Published) publishedSubnets(ctx context.Context, acct, vpcID string, ids []string) ([]string, error) {
	all, err := c.net.SubnetsOfVpc(ctx, vpcID)
	if err != nil {
		return nil, err
	}
	zones := map[string]string{}
	var out []string
	if len(ids) == 0 {
		slices.SortFunc(all, func(a, b model.Subnet) int { return a.Created.Compare(b.Created) })
		for _, s := range all {
			if _, ok := zones[s.AZ]; !ok {
				zones[s.AZ] = s.ID
				out = append(out, s.ID)
			}
		}
		if len(out) == 0 {
			return nil, model.WithReason(model.ErrInvalid, model.ReasonSubnet, "VPC '%s' has no subnets: create one per availability zone (aws ec2 create-subnet), then create the service", vpcID)
		}
		return out, nil
	}
	for _, id := range core.Dedupe(ids) {
		s, err := c.net.Subnet(ctx, acct, id)
		if err != nil {
			return nil, err
		}
		if s.VpcID != vpcID {
			return nil, model.InvalidKind(model.KindSubnet, id, "Subnet '%s' is in VPC '%s', not in '%s'", id, s.VpcID, vpcID)
		}
		if other, ok := zones[s.AZ]; ok {
			return nil, model.InvalidKind(model.KindSubnet, id, "Subnets '%s' and '%s' are both in availability zone %s: give at most one subnet per zone", other, id, s.AZ)
		}
		zones[s.AZ] = id
		out = append(out, id)
	}
	return out, nil
}
