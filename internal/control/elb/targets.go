package elb

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// maxTargets is how many targets a target group may have.
const maxTargets = 1000

// TargetInput names a target in RegisterTargets, DeregisterTargets and
// DescribeTargetHealth: an IP address or an instance ID, a port (0: the target
// group's) and, for IP targets, an availability zone ("all", required for and
// only allowed for addresses outside the VPC).
type TargetInput struct {
	ID   string
	Port int32
	AZ   string
}

// instanceRef is the part of an instance record that target registration needs.
type instanceRef struct {
	Owner string `json:"owner"`
	VpcID string `json:"vpcId"`
	AZ    string `json:"az"`
	State string `json:"state"`
}

// privateRanges are the ranges an IP target outside the VPC may come from.
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("100.64.0.0/10"),
}

// RegisterTargets adds targets to a target group. Registering a target (ID and
// port) that is already registered changes nothing, except that a draining target
// stops draining.
func (c *ELB) RegisterTargets(ctx context.Context, acct, arn string, targets []TargetInput) error {
	tg, err := c.TargetGroup(ctx, acct, arn)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		return model.Missing("Targets")
	}
	resolved := make([]model.Target, 0, len(targets))
	for _, in := range targets {
		t, err := c.resolveTarget(ctx, acct, tg, in)
		if err != nil {
			return err
		}
		resolved = append(resolved, t)
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		tg, err := txGetELB[model.TargetGroup](c, tx, acct, arn, model.KindTargetGroup)
		if err != nil {
			return err
		}
		for _, t := range resolved {
			i := slices.IndexFunc(tg.Targets, func(x model.Target) bool { return x.ID == t.ID && x.Port == t.Port })
			switch {
			case i < 0:
				tg.Targets = append(tg.Targets, t)
			case tg.Targets[i].Draining():
				tg.Targets[i].DrainingUntil = time.Time{} // registering again cancels the deregistration
			}
		}
		if len(tg.Targets) > maxTargets {
			return model.WithReason(model.ErrLimit, model.ReasonTooManyTargets, "A target group can have at most %d targets", maxTargets)
		}
		return tx.Put(core.Key(model.KindTargetGroup, model.ARNResourceID(arn)), tg)
	})
}

// resolveTarget checks one target to register and finds its availability zone.
func (c *ELB) resolveTarget(ctx context.Context, acct string, tg model.TargetGroup, in TargetInput) (model.Target, error) {
	t := model.Target{ID: in.ID, Port: in.Port, AZ: in.AZ, Registered: c.Now().UTC()}
	if t.Port == 0 {
		t.Port = tg.Port
	}
	if t.Port < 1 || t.Port > 65535 {
		return t, model.InvalidKind(model.KindTarget, in.ID, "The port of target '%s' must be from 1 to 65535, not %d", in.ID, t.Port)
	}
	if tg.TargetType == TargetTypeInstance {
		return c.resolveInstanceTarget(ctx, acct, tg, t)
	}
	ip, err := netip.ParseAddr(in.ID)
	if err != nil || !ip.Is4() {
		return t, model.InvalidKind(model.KindTarget, in.ID, "The IP address '%s' is not a valid IPv4 address", in.ID)
	}
	v, err := core.Get[model.Vpc](ctx, c.Store(), model.KindVpc, tg.VpcID)
	if err != nil {
		return t, err
	}
	if netip.MustParsePrefix(v.CIDR).Contains(ip) {
		if in.AZ == "all" {
			return t, model.InvalidKind(model.KindTarget, in.ID, "You cannot specify 'all' for targets inside the VPC: the IP address '%s' is in VPC '%s' (%s)", in.ID, v.ID, v.CIDR)
		}
		subnets, err := c.net.SubnetsOfVpc(ctx, v.ID)
		if err != nil {
			return t, err
		}
		for _, s := range subnets {
			if netip.MustParsePrefix(s.CIDR).Contains(ip) {
				if in.AZ != "" && in.AZ != s.AZ {
					return t, model.InvalidKind(model.KindTarget, in.ID, "The IP address '%s' is in subnet '%s' of availability zone '%s', not in '%s'", in.ID, s.ID, s.AZ, in.AZ)
				}
				if in.AZ == "" {
					t.AZ = s.AZ
				}
				return t, nil
			}
		}
		// In the VPC's range but in none of its subnets (yet): the zone is the
		// caller's to give, if any.
		if z, ok := c.Zone(in.AZ); in.AZ != "" && (!ok || z.Name != in.AZ) {
			return t, model.InvalidKind(model.KindTarget, in.ID, "Availability zone '%s' of target '%s' is not valid: use a zone of %s", in.AZ, in.ID, c.Region())
		}
		return t, nil
	}
	if in.AZ != "all" {
		return t, model.InvalidKind(model.KindTarget, in.ID, "The IP address '%s' is outside VPC '%s' (%s): register it with availability zone 'all'", in.ID, v.ID, v.CIDR)
	}
	if !slices.ContainsFunc(privateRanges, func(p netip.Prefix) bool { return p.Contains(ip) }) {
		return t, model.InvalidKind(model.KindTarget, in.ID, "The IP address '%s' is outside VPC '%s' and not a private address: targets outside the VPC must be in 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10", in.ID, v.ID)
	}
	return t, nil
}

func (c *ELB) resolveInstanceTarget(ctx context.Context, acct string, tg model.TargetGroup, t model.Target) (model.Target, error) {
	notValid := model.InvalidKind(model.KindTarget, t.ID, "The following targets are not valid instances: %s", t.ID)
	if !model.ValidID(model.PrefixInstance, t.ID) {
		return t, notValid
	}
	inst, err := core.Get[instanceRef](ctx, c.Store(), model.KindInstance, t.ID)
	if errors.Is(err, model.ErrNotFound) || (err == nil && inst.Owner != acct) {
		return t, notValid
	}
	if err != nil {
		return t, err
	}
	if inst.State != model.InstancePending && inst.State != model.InstanceRunning {
		return t, model.InvalidKind(model.KindTarget, t.ID, "The following targets are not in a running state and cannot be registered: '%s'", t.ID)
	}
	if inst.VpcID != tg.VpcID {
		return t, model.InvalidKind(model.KindTarget, t.ID, "The following targets are not in the target group VPC '%s': '%s'", tg.VpcID, t.ID)
	}
	if t.AZ != "" && t.AZ != inst.AZ {
		return t, model.InvalidKind(model.KindTarget, t.ID, "Instance '%s' is in availability zone '%s', not in '%s'", t.ID, inst.AZ, t.AZ)
	}
	t.AZ = inst.AZ
	return t, nil
}

// TargetHealthInfo is the health of one target, as DescribeTargetHealth reports it.
type TargetHealthInfo struct {
	Target          model.Target
	HealthCheckPort string
	Health          model.TargetHealth
}

// DescribeTargetHealth reports the health of a target group's targets (all, or the
// ones asked for). Until the data plane has checked a target, it is "initial"; a
// target of a group no listener uses is "unused"; a deregistered target is
// "draining" until its deregistration delay is over.
func (c *ELB) DescribeTargetHealth(ctx context.Context, acct, arn string, filter []TargetInput) ([]TargetHealthInfo, error) {
	tg, err := c.TargetGroup(ctx, acct, arn)
	if err != nil {
		return nil, err
	}
	v := healthView{tg: tg}
	if v.observed, err = c.ObservedHealth(ctx, arn); err != nil {
		return nil, err
	}
	if v.zones, err = c.enabledZones(ctx, acct, tg); err != nil {
		return nil, err
	}
	if v.instances, err = c.targetInstanceStates(ctx, tg); err != nil {
		return nil, err
	}
	info := func(t model.Target) TargetHealthInfo {
		out := TargetHealthInfo{Target: t, HealthCheckPort: tg.HealthCheck.Port}
		if out.HealthCheckPort == trafficPort {
			out.HealthCheckPort = strconv.Itoa(int(t.Port))
		}
		out.Health = v.state(t)
		return out
	}
	var out []TargetHealthInfo
	if len(filter) == 0 {
		for _, t := range tg.Targets {
			out = append(out, info(t))
		}
		return out, nil
	}
	for _, f := range filter {
		n := len(out)
		for _, t := range tg.Targets {
			if t.ID == f.ID && (f.Port == 0 || f.Port == t.Port) {
				out = append(out, info(t))
			}
		}
		if len(out) == n {
			port := f.Port
			if port == 0 {
				port = tg.Port
			}
			r := info(model.Target{ID: f.ID, Port: port, AZ: f.AZ})
			r.Health = model.TargetHealth{State: model.TargetUnused, Reason: model.ReasonNotRegistered, Description: "Target is not registered to the target group"}
			out = append(out, r)
		}
	}
	return out, nil
}

// healthView is what deciding the health of a target group's targets needs: the
// group, the zones of its load balancer, the health the data plane observed (by
// TargetHealthID) and, for instance targets, each instance's state ("" when the
// instance is gone).
type healthView struct {
	tg        model.TargetGroup
	zones     []string
	observed  map[string]model.TargetHealth
	instances map[string]string
}

// state decides the health a target reports.
func (v healthView) state(t model.Target) model.TargetHealth {
	switch {
	case t.Draining():
		return model.TargetHealth{State: model.TargetDraining, Reason: model.ReasonDeregistrationInProgress, Description: "Target deregistration is in progress"}
	case len(v.tg.Listeners) == 0:
		return model.TargetHealth{State: model.TargetUnused, Reason: model.ReasonNotInUse, Description: "Target group is not configured to receive traffic from the load balancer"}
	}
	if state, ok := v.instances[t.ID]; ok && state != model.InstancePending && state != model.InstanceRunning {
		if state == "" || state == model.InstanceShuttingDown {
			state = model.InstanceTerminated
		}
		return model.TargetHealth{State: model.TargetUnused, Reason: model.ReasonInvalidState, Description: "Target is in the " + state + " state"}
	}
	if t.AZ != "" && t.AZ != "all" && !slices.Contains(v.zones, t.AZ) {
		return model.TargetHealth{State: model.TargetUnused, Reason: model.ReasonNotInUse, Description: "Target is in an Availability Zone that is not enabled for the load balancer"}
	}
	if !v.tg.HealthCheck.Enabled {
		return model.TargetHealth{State: model.TargetUnavailable, Reason: model.ReasonHealthCheckDisabled, Description: "Health checks are disabled"}
	}
	if h, ok := v.observed[model.TargetHealthID(v.tg.ARN, t.ID, t.Port)]; ok {
		return h
	}
	return model.TargetHealth{State: model.TargetInitial, Reason: model.ReasonRegistrationInProgress, Description: "Target registration is in progress"}
}

// targetInstanceStates reads the state of each instance target of a group of
// type instance ("" for an instance that is gone); nil for other groups.
func (c *ELB) targetInstanceStates(ctx context.Context, tg model.TargetGroup) (map[string]string, error) {
	if tg.TargetType != TargetTypeInstance {
		return nil, nil
	}
	out := map[string]string{}
	for _, t := range tg.Targets {
		if _, done := out[t.ID]; done {
			continue
		}
		inst, err := core.Get[instanceRef](ctx, c.Store(), model.KindInstance, t.ID)
		if err != nil && !errors.Is(err, model.ErrNotFound) {
			return nil, err
		}
		out[t.ID] = inst.State
	}
	return out, nil
}

// ObservedHealth reads the health records the data plane wrote for a target group,
// by TargetHealthID.
func (c *ELB) ObservedHealth(ctx context.Context, arn string) (map[string]model.TargetHealth, error) {
	out := map[string]model.TargetHealth{}
	prefix := core.Key(model.KindTargetHealth, model.ARNResourceID(arn)) + "/"
	err := c.Store().List(ctx, prefix, func(k string, val []byte) error {
		var h model.TargetHealth
		if err := json.Unmarshal(val, &h); err != nil {
			return err
		}
		out[strings.TrimPrefix(k, model.KindTargetHealth+"/")] = h
		return nil
	})
	return out, err
}

// enabledZones lists the availability zones of the load balancer that uses a target
// group (none when no listener uses it).
func (c *ELB) enabledZones(ctx context.Context, acct string, tg model.TargetGroup) ([]string, error) {
	lbs := TargetGroupLoadBalancers(tg)
	if len(lbs) == 0 {
		return nil, nil
	}
	lb, err := c.LoadBalancer(ctx, acct, lbs[0])
	if errors.Is(err, model.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var zones []string
	for _, n := range lb.Nodes {
		zones = append(zones, n.AZ)
	}
	return zones, nil
}
