package elb

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// Target types and protocols of Strait's target groups.
const (
	TargetTypeIP       = "ip"
	TargetTypeInstance = "instance"
	ProtocolTCP        = "TCP"
	trafficPort        = "traffic-port"
)

// HealthCheckInput sets a target group's health check; nil and empty fields keep
// the current value (or AWS's default when creating).
type HealthCheckInput struct {
	Enabled            *bool
	Protocol           string
	Port               string
	Path               string
	Matcher            string // HTTP codes, e.g. "200-399"
	IntervalSeconds    *int32
	TimeoutSeconds     *int32
	HealthyThreshold   *int32
	UnhealthyThreshold *int32
}

// CreateTargetGroupInput is what CreateTargetGroup needs.
type CreateTargetGroupInput struct {
	Name          string
	Protocol      string
	Port          int32
	VpcID         string
	TargetType    string // "ip" or "instance" (the default)
	IPAddressType string // only "ipv4" (the default)
	HealthCheck   HealthCheckInput
	Tags          []ELBTag
}

// CreateTargetGroup creates a TCP target group for network load balancers. Asking
// again for a group with the same name and settings returns the existing one.
func (c *ELB) CreateTargetGroup(ctx context.Context, acct string, in CreateTargetGroupInput) (model.TargetGroup, error) {
	tg, err := c.planTargetGroup(ctx, acct, in)
	if err != nil {
		return tg, err
	}
	hex := model.RandomHex(16)
	tg.ARN = model.ELBARN(c.Region(), acct, "targetgroup/"+in.Name+"/"+hex)
	out := tg
	err = c.Update(ctx, func(tx *store.Tx) error {
		var existing string
		if ok, err := tx.Get(tgNameKey(acct, in.Name), &existing); err != nil {
			return err
		} else if ok {
			old, err := core.TxGet[model.TargetGroup](tx, model.KindTargetGroup, existing)
			if err != nil {
				return err
			}
			if old.Protocol != tg.Protocol || old.Port != tg.Port || old.VpcID != tg.VpcID || old.TargetType != tg.TargetType ||
				old.IPAddressType != tg.IPAddressType || old.HealthCheck != tg.HealthCheck {
				return model.Duplicate(model.KindTargetGroup, in.Name, "A target group with the same name '%s' exists, but with different settings", in.Name)
			}
			out = old
			return nil
		}
		out = tg
		if err := tx.Put(tgNameKey(acct, in.Name), hex); err != nil {
			return err
		}
		return tx.Put(core.Key(model.KindTargetGroup, hex), tg)
	})
	return out, err
}

// planTargetGroup checks a CreateTargetGroup request and fills in AWS's defaults.
func (c *ELB) planTargetGroup(ctx context.Context, acct string, in CreateTargetGroupInput) (model.TargetGroup, error) {
	if err := checkTargetGroupName(in.Name); err != nil {
		return model.TargetGroup{}, err
	}
	if in.TargetType == "" {
		in.TargetType = TargetTypeInstance
	}
	if in.TargetType != TargetTypeIP && in.TargetType != TargetTypeInstance {
		return model.TargetGroup{}, model.Invalid("Target type '%s' is not supported: Strait's target groups have target type 'ip' or 'instance'", in.TargetType)
	}
	switch {
	case in.Protocol == "":
		return model.TargetGroup{}, model.Invalid("A protocol must be specified")
	case in.Protocol != ProtocolTCP:
		return model.TargetGroup{}, model.Invalid("Target group protocol '%s' is not supported: Strait's network load balancers forward TCP only, so use protocol 'TCP'", in.Protocol)
	case in.Port == 0:
		return model.TargetGroup{}, model.Invalid("A port must be specified")
	case in.Port < 1 || in.Port > 65535:
		return model.TargetGroup{}, model.Invalid("Port '%d' is not valid: it must be from 1 to 65535", in.Port)
	case in.VpcID == "":
		return model.TargetGroup{}, model.Invalid("A VPC ID must be specified")
	}
	if in.IPAddressType == "" {
		in.IPAddressType = "ipv4"
	}
	if in.IPAddressType != "ipv4" {
		return model.TargetGroup{}, model.Invalid("IP address type '%s' is not supported: Strait's target groups are IPv4 only", in.IPAddressType)
	}
	if _, err := c.net.Vpc(ctx, acct, in.VpcID); err != nil {
		if errors.Is(err, model.ErrNotFound) {
			return model.TargetGroup{}, model.Invalid("The VPC ID '%s' is not found", in.VpcID)
		}
		return model.TargetGroup{}, err
	}
	hc, err := applyHealthCheck(model.HealthCheck{}, in.HealthCheck, in.TargetType)
	if err != nil {
		return model.TargetGroup{}, err
	}
	tags, err := elbTagMap(in.Tags)
	if err != nil {
		return model.TargetGroup{}, err
	}
	return model.TargetGroup{
		Name: in.Name, Owner: acct, Protocol: in.Protocol, Port: in.Port, VpcID: in.VpcID,
		TargetType: in.TargetType, IPAddressType: in.IPAddressType, HealthCheck: hc,
		Attributes: defaultTGAttributes(in.TargetType), Tags: tags, Created: c.Now().UTC(),
	}, nil
}

var httpCodes = regexp.MustCompile(`^[0-9]{3}(-[0-9]{3}|(,[0-9]{3})*)$`)

// applyHealthCheck applies in to hc (the zero HealthCheck when creating), filling in
// the NLB defaults, and checks the result.
func applyHealthCheck(hc model.HealthCheck, in HealthCheckInput, targetType string) (model.HealthCheck, error) {
	creating := hc.Protocol == ""
	if creating {
		hc = model.HealthCheck{Enabled: true, Protocol: ProtocolTCP, Port: trafficPort, IntervalSeconds: 30,
			HealthyThreshold: 5, UnhealthyThreshold: 2}
	}
	if in.Enabled != nil && !*in.Enabled {
		return hc, model.Invalid("Health checks cannot be disabled for target groups with target type '%s'", targetType)
	}
	if in.Protocol != "" && in.Protocol != hc.Protocol {
		switch in.Protocol {
		case "TCP":
			hc.Path, hc.Matcher = "", ""
		case "HTTP", "HTTPS":
			hc.Path, hc.Matcher = "/", "200-399"
		default:
			return hc, model.Invalid("Health check protocol '%s' is not supported: use 'TCP', 'HTTP' or 'HTTPS'", in.Protocol)
		}
		hc.Protocol = in.Protocol
	}
	if creating {
		hc.TimeoutSeconds = 10
		if hc.Protocol == "HTTP" {
			hc.TimeoutSeconds = 6
		}
	}
	if (in.Path != "" || in.Matcher != "") && hc.Protocol == ProtocolTCP {
		return hc, model.Invalid("A health check path or matcher can be specified only for HTTP and HTTPS health checks, not for '%s'", hc.Protocol)
	}
	if in.Path != "" {
		if !strings.HasPrefix(in.Path, "/") || len(in.Path) > 1024 {
			return hc, model.Invalid("Health check path '%s' is not valid: it must begin with '/' and have at most 1024 characters", in.Path)
		}
		hc.Path = in.Path
	}
	if in.Matcher != "" {
		if !validHTTPCodes(in.Matcher) {
			return hc, model.Invalid("Health check matcher '%s' is not valid: use HTTP codes from 200 to 599, as '200', '200,202' or '200-299'", in.Matcher)
		}
		hc.Matcher = in.Matcher
	}
	if in.Port != "" {
		if in.Port != trafficPort {
			if n, err := strconv.Atoi(in.Port); err != nil || n < 1 || n > 65535 {
				return hc, model.Invalid("Health check port '%s' is not valid: use 'traffic-port' or a port from 1 to 65535", in.Port)
			}
		}
		hc.Port = in.Port
	}
	for _, f := range []struct {
		name   string
		in     *int32
		out    *int32
		lo, hi int32
	}{
		{"Health check interval", in.IntervalSeconds, &hc.IntervalSeconds, 5, 300},
		{"Health check timeout", in.TimeoutSeconds, &hc.TimeoutSeconds, 2, 120},
		{"Healthy threshold count", in.HealthyThreshold, &hc.HealthyThreshold, 2, 10},
		{"Unhealthy threshold count", in.UnhealthyThreshold, &hc.UnhealthyThreshold, 2, 10},
	} {
		if f.in == nil {
			continue
		}
		if *f.in < f.lo || *f.in > f.hi {
			return hc, model.Invalid("%s '%d' is not valid: it must be from %d to %d", f.name, *f.in, f.lo, f.hi)
		}
		*f.out = *f.in
	}
	if hc.TimeoutSeconds > hc.IntervalSeconds {
		return hc, model.Invalid("Health check timeout '%d' must not be greater than the interval '%d'", hc.TimeoutSeconds, hc.IntervalSeconds)
	}
	return hc, nil
}

func validHTTPCodes(s string) bool {
	if !httpCodes.MatchString(s) {
		return false
	}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '-' }) {
		if n, _ := strconv.Atoi(part); n < 200 || n > 599 {
			return false
		}
	}
	if lo, hi, ok := strings.Cut(s, "-"); ok && lo > hi {
		return false
	}
	return true
}

func tgNameKey(acct, name string) string { return "tgname/" + acct + "/" + name }

// TargetGroup returns one of the account's target groups by ARN.
func (c *ELB) TargetGroup(ctx context.Context, acct, arn string) (model.TargetGroup, error) {
	return getELB[model.TargetGroup](ctx, c, acct, arn, model.KindTargetGroup)
}

// TargetGroups lists the account's target groups.
func (c *ELB) TargetGroups(ctx context.Context, acct string) ([]model.TargetGroup, error) {
	all, err := core.List[model.TargetGroup](ctx, c.Store(), model.KindTargetGroup)
	return core.FilterOwner(all, acct, func(tg model.TargetGroup) string { return tg.Owner }), err
}

// TargetGroupsByName returns the account's target groups with the given names; a
// missing name is TargetGroupNotFound.
func (c *ELB) TargetGroupsByName(ctx context.Context, acct string, names []string) ([]model.TargetGroup, error) {
	all, err := c.TargetGroups(ctx, acct)
	if err != nil {
		return nil, err
	}
	var out []model.TargetGroup
	for _, n := range names {
		i := slices.IndexFunc(all, func(tg model.TargetGroup) bool { return tg.Name == n })
		if i < 0 {
			return nil, &model.Error{Err: model.ErrNotFound, Kind: model.KindTargetGroup, ID: n, Msg: "One or more target groups not found"}
		}
		if !slices.ContainsFunc(out, func(tg model.TargetGroup) bool { return tg.Name == n }) {
			out = append(out, all[i])
		}
	}
	return out, nil
}

// TargetGroupsOfLoadBalancer lists the target groups the listeners of a load
// balancer forward to.
func (c *ELB) TargetGroupsOfLoadBalancer(ctx context.Context, acct, lbARN string) ([]model.TargetGroup, error) {
	if _, err := c.LoadBalancer(ctx, acct, lbARN); err != nil {
		return nil, err
	}
	all, err := c.TargetGroups(ctx, acct)
	if err != nil {
		return nil, err
	}
	var out []model.TargetGroup
	for _, tg := range all {
		if slices.Contains(TargetGroupLoadBalancers(tg), lbARN) {
			out = append(out, tg)
		}
	}
	return out, nil
}

// TargetGroupLoadBalancers lists the ARNs of the load balancers whose listeners
// forward to a target group (at most one).
func TargetGroupLoadBalancers(tg model.TargetGroup) []string {
	var out []string
	for _, l := range tg.Listeners {
		out = elbAppendOnce(out, lbARNOfListener(l))
	}
	return out
}

// ModifyTargetGroup changes a target group's health check.
func (c *ELB) ModifyTargetGroup(ctx context.Context, acct, arn string, in HealthCheckInput) (model.TargetGroup, error) {
	if _, err := c.TargetGroup(ctx, acct, arn); err != nil {
		return model.TargetGroup{}, err
	}
	var tg model.TargetGroup
	err := c.Update(ctx, func(tx *store.Tx) error {
		var err error
		if tg, err = txGetELB[model.TargetGroup](c, tx, acct, arn, model.KindTargetGroup); err != nil {
			return err
		}
		if tg.HealthCheck, err = applyHealthCheck(tg.HealthCheck, in, tg.TargetType); err != nil {
			return err
		}
		return tx.Put(core.Key(model.KindTargetGroup, model.ARNResourceID(arn)), tg)
	})
	return tg, err
}

// DeleteTargetGroup deletes a target group that no listener uses. Deleting a target
// group that no longer exists succeeds, as in AWS.
func (c *ELB) DeleteTargetGroup(ctx context.Context, acct, arn string) error {
	id, err := c.elbRef(acct, arn, model.KindTargetGroup)
	if err != nil {
		return err
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		tg, err := txGetELB[model.TargetGroup](c, tx, acct, arn, model.KindTargetGroup)
		if errors.Is(err, model.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(tg.Listeners) > 0 {
			return model.InUse(model.KindTargetGroup, arn, "Target group '%s' is currently in use by a listener or a rule", arn)
		}
		for _, t := range tg.Targets {
			tx.Delete(core.Key(model.KindTargetHealth, model.TargetHealthID(arn, t.ID, t.Port)))
		}
		tx.Delete(tgNameKey(acct, tg.Name))
		tx.Delete(core.Key(model.KindTargetGroup, id))
		return nil
	})
}
