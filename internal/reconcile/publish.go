package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"strait/internal/control/elb"
	"strait/internal/control/endpoints"
	"strait/internal/control/published"
	"strait/internal/model"
)

// Tags that mark the load balancers and target groups the publish step creates, so
// that it finds them again after a crash and never adopts a user's own resources.
const (
	TagPublishedService = "strait:published-service"
	TagComponent        = "strait:component"
)

// Publish realizes the PrivateLink resources of published services: for each one
// being created or active it makes the load balancer, target groups, listeners and
// endpoint service match the desired state, by calling the same control operations
// the AWS APIs use; for each one being deleted it removes them. Each step looks up
// what exists before creating, so a pass interrupted anywhere resumes without
// duplicates. A pass that finds nothing to change writes nothing. A failure puts
// the resource in state failed with a message and is retried on the next pass.
func (r *Reconciler) Publish(ctx context.Context) error {
	svcs, err := r.ctl.AllPublishedServices(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, svc := range svcs {
		if svc.PrivateLink == nil {
			continue
		}
		var err error
		if svc.PrivateLink.Deleting {
			err = r.unpublish(ctx, svc)
		} else {
			err = r.publish(ctx, svc)
		}
		if err != nil && ctx.Err() == nil {
			errs = append(errs, r.fail(ctx, svc, err))
		}
	}
	return errors.Join(errs...)
}

// fail records a failure in the resource's state; only errors that are not the
// client's (store failures) are returned for logging.
func (r *Reconciler) fail(ctx context.Context, svc model.PublishedService, cause error) error {
	verb := "creating"
	next := fmt.Sprintf("fix the cause, or remove the resource with `strait privatelink delete %s`", svc.Name)
	if svc.PrivateLink.Deleting {
		verb = "deleting"
		next = "fix the cause"
		var de *model.Error
		if errors.As(cause, &de) && de.Reason == model.ReasonLiveConnections {
			next = fmt.Sprintf("reject the new connections with `strait privatelink reject %s VPCE_ID…`, or run `strait privatelink delete --force %s`", svc.Name, svc.Name)
		}
	}
	msg := fmt.Sprintf("%s the PrivateLink resource failed: %v. Strait retries every few seconds; %s.", verb, cause, next)
	_, err := r.ctl.RecordPrivateLink(ctx, svc.Owner, svc.Name, svc.PrivateLink.Created, func(pl *model.PrivateLink) {
		pl.State, pl.StateMessage = model.PrivateLinkFailed, msg
	})
	var de *model.Error
	if !errors.As(cause, &de) {
		err = errors.Join(err, fmt.Errorf("publishing %s/%s: %w", svc.Owner, svc.Name, cause))
	}
	return err
}

// publish creates or updates what a PrivateLink resource needs.
func (r *Reconciler) publish(ctx context.Context, svc model.PublishedService) error {
	acct, pl := svc.Owner, svc.PrivateLink
	record := func(fn func(pl *model.PrivateLink)) (bool, error) {
		return r.ctl.RecordPrivateLink(ctx, acct, svc.Name, pl.Created, fn)
	}
	lb, err := r.ensureLoadBalancer(ctx, svc)
	if err != nil {
		return err
	}
	if ok, err := record(func(p *model.PrivateLink) { p.LoadBalancerARN = lb.ARN }); err != nil || !ok {
		return err
	}
	tgs, listeners, err := r.ensureComponents(ctx, svc, lb)
	if err != nil {
		return err
	}
	if ok, err := record(func(p *model.PrivateLink) { p.TargetGroups, p.Listeners = tgs, listeners }); err != nil || !ok {
		return err
	}
	es, err := r.ensureEndpointService(ctx, svc, lb)
	if err != nil {
		return err
	}
	_, err = record(func(p *model.PrivateLink) {
		p.ServiceID, p.ServiceName = es.ID, es.Name
		p.State, p.StateMessage = model.PrivateLinkCreating, ""
		if es.State == model.ServiceAvailable {
			p.State = model.PrivateLinkActive
		}
	})
	return err
}

// ensureLoadBalancer finds the service's internal network load balancer or creates
// it in the service's subnets, with cross-zone load balancing on: a component
// whose targets are in some zones only (one schema registry, say) still answers
// through every zone's endpoint address.
func (r *Reconciler) ensureLoadBalancer(ctx context.Context, svc model.PublishedService) (model.LoadBalancer, error) {
	name := LoadBalancerName(svc.Name)
	lbs, err := r.ctl.LoadBalancersByName(ctx, svc.Owner, []string{name})
	if err == nil {
		if lbs[0].Tags[TagPublishedService] != svc.Name {
			return model.LoadBalancer{}, fmt.Errorf("a load balancer named %s exists that Strait did not create for this service: delete or rename it", name)
		}
		return lbs[0], nil
	}
	if !errors.Is(err, model.ErrNotFound) {
		return model.LoadBalancer{}, err
	}
	return r.ctl.CreateLoadBalancer(ctx, svc.Owner, elb.CreateLoadBalancerInput{
		Name: name, Type: elb.LBTypeNetwork, Scheme: elb.LBSchemeInternal, Subnets: svc.SubnetIDs, CrossZone: true,
		Tags: []elb.ELBTag{{Key: TagPublishedService, Value: svc.Name}},
	})
}

// ensureComponents gives each component with PrivateLink access a target group
// with its targets and a listener on its port, and removes the listeners and
// target groups of the others. It returns the target group and listener ARNs by
// component.
func (r *Reconciler) ensureComponents(ctx context.Context, svc model.PublishedService, lb model.LoadBalancer) (map[string]string, map[string]string, error) {
	acct := svc.Owner
	tgs, listeners := map[string]string{}, map[string]string{}
	current, err := r.ctl.Listeners(ctx, acct, lb.ARN)
	if err != nil {
		return nil, nil, err
	}
	ports := map[int32]bool{}
	for _, comp := range svc.Components {
		if !comp.PrivateLinkAccess {
			continue
		}
		ports[comp.Port] = true
		tg, err := r.ensureTargetGroup(ctx, svc, comp)
		if err != nil {
			return nil, nil, fmt.Errorf("component %s: %w", comp.Name, err)
		}
		tgs[comp.Name] = tg.ARN
		forward := []elb.ListenerAction{{Type: "forward", TargetGroupARN: tg.ARN}}
		i := slices.IndexFunc(current, func(l model.Listener) bool { return l.Port == comp.Port })
		switch {
		case i < 0:
			l, err := r.ctl.CreateListener(ctx, acct, elb.CreateListenerInput{
				LoadBalancerARN: lb.ARN, Protocol: elb.ProtocolTCP, Port: comp.Port, Actions: forward,
				Tags: []elb.ELBTag{{Key: TagPublishedService, Value: svc.Name}, {Key: TagComponent, Value: comp.Name}},
			})
			if err != nil {
				return nil, nil, fmt.Errorf("component %s: %w", comp.Name, err)
			}
			listeners[comp.Name] = l.ARN
		case len(current[i].Actions) != 1 || current[i].Actions[0].TargetGroupARN != tg.ARN:
			if _, err := r.ctl.ModifyListener(ctx, acct, current[i].ARN, elb.ModifyListenerInput{Actions: forward}); err != nil {
				return nil, nil, fmt.Errorf("component %s: %w", comp.Name, err)
			}
			listeners[comp.Name] = current[i].ARN
		default:
			listeners[comp.Name] = current[i].ARN
		}
	}
	for _, l := range current {
		if !ports[l.Port] {
			if err := r.ctl.DeleteListener(ctx, acct, l.ARN); err != nil && !errors.Is(err, model.ErrNotFound) {
				return nil, nil, err
			}
		}
	}
	keep := map[string]bool{}
	for _, arn := range tgs {
		keep[arn] = true
	}
	return tgs, listeners, r.deleteTargetGroups(ctx, svc, keep)
}

// deleteTargetGroups deletes the service's target groups that are not in keep.
func (r *Reconciler) deleteTargetGroups(ctx context.Context, svc model.PublishedService, keep map[string]bool) error {
	all, err := r.ctl.TargetGroups(ctx, svc.Owner)
	if err != nil {
		return err
	}
	for _, tg := range all {
		if tg.Tags[TagPublishedService] != svc.Name || keep[tg.ARN] {
			continue
		}
		if err := r.ctl.DeleteTargetGroup(ctx, svc.Owner, tg.ARN); err != nil {
			return err
		}
	}
	return nil
}

// ensureTargetGroup finds or creates a component's target group and makes its
// registered targets the component's.
func (r *Reconciler) ensureTargetGroup(ctx context.Context, svc model.PublishedService, comp model.Component) (model.TargetGroup, error) {
	acct := svc.Owner
	typ := elb.TargetTypeIP
	if slices.ContainsFunc(comp.Targets, func(t string) bool { return strings.HasPrefix(t, "i-") }) {
		typ = elb.TargetTypeInstance
	}
	name := TargetGroupName(svc.Name, comp.Name, comp.Port, typ)
	var tg model.TargetGroup
	found, err := r.ctl.TargetGroupsByName(ctx, acct, []string{name})
	switch {
	case err == nil:
		if found[0].Tags[TagPublishedService] != svc.Name {
			return tg, fmt.Errorf("a target group named %s exists that Strait did not create for this service: delete or rename it", name)
		}
		tg = found[0]
	case errors.Is(err, model.ErrNotFound):
		tg, err = r.ctl.CreateTargetGroup(ctx, acct, elb.CreateTargetGroupInput{
			Name: name, Protocol: elb.ProtocolTCP, Port: comp.Port, VpcID: svc.VpcID, TargetType: typ,
			Tags: []elb.ELBTag{{Key: TagPublishedService, Value: svc.Name}, {Key: TagComponent, Value: comp.Name}},
		})
		if err != nil {
			return tg, err
		}
	default:
		return tg, err
	}
	want, err := r.desiredTargets(ctx, svc, comp, typ)
	if err != nil {
		return tg, err
	}
	var add, remove []elb.TargetInput
	// A draining target counts as absent: wanted again, it is registered again
	// (which ends its draining); not wanted, it is left to finish draining.
	for _, t := range want {
		if !slices.ContainsFunc(tg.Targets, func(x model.Target) bool { return x.ID == t.ID && x.Port == t.Port && !x.Draining() }) {
			add = append(add, t)
		}
	}
	for _, t := range tg.Targets {
		if !t.Draining() && !slices.ContainsFunc(want, func(x elb.TargetInput) bool { return x.ID == t.ID && x.Port == t.Port }) {
			remove = append(remove, elb.TargetInput{ID: t.ID, Port: t.Port})
		}
	}
	if len(add) > 0 {
		if err := r.ctl.RegisterTargets(ctx, acct, tg.ARN, add); err != nil {
			return tg, err
		}
	}
	if len(remove) > 0 {
		if err := r.ctl.DeregisterTargets(ctx, acct, tg.ARN, remove); err != nil {
			return tg, err
		}
	}
	return tg, nil
}

// desiredTargets turns a component's targets into registrations; IP targets outside
// the VPC are registered in zone "all".
func (r *Reconciler) desiredTargets(ctx context.Context, svc model.PublishedService, comp model.Component, typ string) ([]elb.TargetInput, error) {
	var cidr netip.Prefix
	if typ == elb.TargetTypeIP && len(comp.Targets) > 0 {
		v, err := r.ctl.Vpc(ctx, svc.Owner, svc.VpcID)
		if err != nil {
			return nil, err
		}
		if cidr, err = netip.ParsePrefix(v.CIDR); err != nil {
			return nil, err
		}
	}
	out := make([]elb.TargetInput, 0, len(comp.Targets))
	for _, t := range comp.Targets {
		id, port, err := published.ParseComponentTarget(t, comp.Port)
		if err != nil {
			return nil, err
		}
		in := elb.TargetInput{ID: id, Port: port}
		if ip, err := netip.ParseAddr(id); err == nil && !cidr.Contains(ip) {
			in.AZ = "all"
		}
		out = append(out, in)
	}
	return out, nil
}

// ensureEndpointService finds or creates the endpoint service of the load balancer
// and makes its acceptance, private DNS name and allowed principals the desired
// ones (principals not asked for are removed).
func (r *Reconciler) ensureEndpointService(ctx context.Context, svc model.PublishedService, lb model.LoadBalancer) (model.EndpointService, error) {
	acct, pl := svc.Owner, svc.PrivateLink
	id, err := r.ctl.LoadBalancerService(ctx, lb.ARN)
	if err != nil {
		return model.EndpointService{}, err
	}
	if id == "" {
		accept := pl.AcceptanceRequired
		es, err := r.ctl.CreateEndpointService(ctx, acct, endpoints.CreateServiceInput{
			NLBARNs: []string{lb.ARN}, AcceptanceRequired: &accept, PrivateDNSName: pl.PrivateDNSName,
			Tags: model.Tags{TagPublishedService: svc.Name},
		})
		if err != nil {
			return es, err
		}
		id = es.ID
	}
	es, err := r.ctl.EndpointService(ctx, acct, id)
	if err != nil {
		return es, err
	}
	if es.AcceptanceRequired != pl.AcceptanceRequired || es.PrivateDNSName != pl.PrivateDNSName {
		accept := pl.AcceptanceRequired
		mod := endpoints.ModifyServiceInput{AcceptanceRequired: &accept, PrivateDNSName: pl.PrivateDNSName, RemovePrivateDNSName: pl.PrivateDNSName == ""}
		if err := r.ctl.ModifyEndpointService(ctx, acct, id, mod); err != nil {
			return es, err
		}
	}
	var add, remove []string
	for _, p := range pl.Principals {
		if !slices.ContainsFunc(es.Principals, func(x model.Permission) bool { return x.Principal == p }) {
			add = append(add, p)
		}
	}
	for _, p := range es.Principals {
		if !slices.Contains(pl.Principals, p.Principal) {
			remove = append(remove, p.Principal)
		}
	}
	if len(add)+len(remove) > 0 {
		if _, err := r.ctl.ModifyServicePermissions(ctx, acct, id, add, remove); err != nil {
			return es, err
		}
	}
	return es, nil
}

// unpublish removes what a PrivateLink resource created — the endpoint service
// (rejecting live connections first when forced), the load balancer with its
// listeners, the target groups — and then the resource itself.
func (r *Reconciler) unpublish(ctx context.Context, svc model.PublishedService) error {
	acct, pl := svc.Owner, svc.PrivateLink
	lbARN := pl.LoadBalancerARN
	if lbARN == "" {
		lbs, err := r.ctl.LoadBalancersByName(ctx, acct, []string{LoadBalancerName(svc.Name)})
		if err == nil && lbs[0].Tags[TagPublishedService] == svc.Name {
			lbARN = lbs[0].ARN
		} else if err != nil && !errors.Is(err, model.ErrNotFound) {
			return err
		}
	}
	svcID := pl.ServiceID
	if svcID == "" && lbARN != "" {
		id, err := r.ctl.LoadBalancerService(ctx, lbARN)
		if err != nil {
			return err
		}
		svcID = id
	}
	if svcID != "" {
		if err := r.deleteEndpointService(ctx, acct, svcID, pl.Force); err != nil {
			return err
		}
	}
	if lbARN != "" {
		if err := r.ctl.DeleteLoadBalancer(ctx, acct, lbARN); err != nil {
			return err
		}
	}
	if err := r.deleteTargetGroups(ctx, svc, nil); err != nil {
		return err
	}
	return r.ctl.ClearPrivateLink(ctx, acct, svc.Name, pl.Created)
}

func (r *Reconciler) deleteEndpointService(ctx context.Context, acct, id string, force bool) error {
	if _, err := r.ctl.EndpointService(ctx, acct, id); errors.Is(err, model.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if force {
		conns, err := r.ctl.EndpointConnections(ctx, acct)
		if err != nil {
			return err
		}
		var live []string
		for _, c := range conns {
			if c.ServiceID == id && (c.State == model.EndpointAvailable || c.State == model.EndpointPending || c.State == model.EndpointPendingAcceptance) {
				live = append(live, c.ID)
			}
		}
		if len(live) > 0 {
			if failed, err := r.ctl.RejectEndpointConnections(ctx, acct, id, live); err != nil {
				return err
			} else if len(failed) > 0 {
				return failed[0].Err
			}
		}
	}
	failed, err := r.ctl.DeleteEndpointServices(ctx, acct, []string{id})
	if err != nil {
		return err
	}
	if len(failed) > 0 && !errors.Is(failed[0].Err, model.ErrNotFound) {
		return failed[0].Err
	}
	return nil
}

// LoadBalancerName is the name of a published service's load balancer:
// "strait-<service>", shortened with a hash to ELB's 32 characters.
func LoadBalancerName(service string) string { return elbName("strait-" + service) }

// TargetGroupName is the name of a component's target group; it changes with the
// component's port and target type, which a target group cannot change.
func TargetGroupName(service, component string, port int32, targetType string) string {
	n := "strait-" + service + "-" + strings.ReplaceAll(component, "_", "-") + "-" + strconv.Itoa(int(port))
	if targetType == elb.TargetTypeInstance {
		n += "-i"
	}
	return elbName(n)
}

// elbName shortens a name to 32 characters: the first 23, then "-" and 8 hex
// digits of its hash.
func elbName(n string) string {
	if len(n) <= 32 {
		return n
	}
	sum := sha256.Sum256([]byte(n))
	return strings.TrimRight(n[:23], "-") + "-" + hex.EncodeToString(sum[:])[:8]
}
