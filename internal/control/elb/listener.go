package elb

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// MaxListeners is how many listeners a load balancer may have.
const MaxListeners = 50

// ListenerAction is a listener's default action as a request gives it: a forward
// action names its target group by TargetGroupARN, by ForwardTargetGroups (the
// target groups of a ForwardConfig) or by both (then they must agree).
type ListenerAction struct {
	Type                string
	TargetGroupARN      string
	ForwardTargetGroups []string
}

// ListenerTLS is what a request gives for TLS listeners; Strait's listeners are TCP,
// so any of it is refused.
type ListenerTLS struct {
	Certificates []string
	SSLPolicy    string
	ALPNPolicy   []string
}

// CreateListenerInput is what CreateListener needs.
type CreateListenerInput struct {
	LoadBalancerARN string
	Protocol        string
	Port            int32
	Actions         []ListenerAction
	TLS             ListenerTLS
	Tags            []ELBTag
}

// ModifyListenerInput changes a listener; zero fields keep the current value.
type ModifyListenerInput struct {
	Protocol string
	Port     int32
	Actions  []ListenerAction
	TLS      ListenerTLS
}

// CreateListener adds a TCP listener to a load balancer, forwarding to one target
// group in the load balancer's VPC. As in AWS, asking again for a listener with the
// same port, protocol and target group returns the existing one (tags aside); a
// different listener on a port already used is DuplicateListener.
func (c *ELB) CreateListener(ctx context.Context, acct string, in CreateListenerInput) (model.Listener, error) {
	lb, err := c.LoadBalancer(ctx, acct, in.LoadBalancerARN)
	if err != nil {
		return model.Listener{}, err
	}
	if in.Protocol == "" {
		return model.Listener{}, model.Invalid("A listener protocol must be specified")
	}
	if in.Port == 0 {
		return model.Listener{}, model.Invalid("A listener port must be specified")
	}
	if err := checkListener(in.Protocol, in.Port, in.TLS); err != nil {
		return model.Listener{}, err
	}
	if len(in.Actions) == 0 {
		return model.Listener{}, model.Missing("DefaultActions")
	}
	tgARN, err := forwardTarget(in.Actions)
	if err != nil {
		return model.Listener{}, err
	}
	tags, err := elbTagMap(in.Tags)
	if err != nil {
		return model.Listener{}, err
	}
	hex := model.RandomHex(16)
	l := model.Listener{
		ARN:             model.ELBARN(c.Region(), acct, fmt.Sprintf("listener/net/%s/%s/%s", lb.Name, model.ARNResourceID(lb.ARN), hex)),
		LoadBalancerARN: lb.ARN, Owner: acct, Port: in.Port, Protocol: in.Protocol,
		Actions: []model.Action{{Type: "forward", TargetGroupARN: tgARN}}, Tags: tags, Created: c.Now().UTC(),
	}
	err = c.Update(ctx, func(tx *store.Tx) error {
		lb, err := txGetELB[model.LoadBalancer](c, tx, acct, in.LoadBalancerARN, model.KindLoadBalancer)
		if err != nil {
			return err
		}
		if same, err := txSameListener(tx, lb, in.Port, in.Protocol, tgARN); err != nil || same.ARN != "" {
			if same.ARN != "" {
				l = same
			}
			return err
		}
		if len(lb.Listeners) >= MaxListeners {
			return model.WithReason(model.ErrLimit, model.ReasonTooManyListeners, "A load balancer can have at most %d listeners", MaxListeners)
		}
		if err := txClaimPort(tx, lb, in.Port, l.ARN); err != nil {
			return err
		}
		if err := c.txLinkTargetGroup(tx, acct, lb, tgARN, l.ARN); err != nil {
			return err
		}
		lb.Listeners = append(lb.Listeners, l.ARN)
		if err := tx.Put(core.Key(model.KindLoadBalancer, model.ARNResourceID(lb.ARN)), lb); err != nil {
			return err
		}
		return tx.Put(core.Key(model.KindListener, hex), l)
	})
	return l, err
}

// checkListener checks a listener's protocol and port.
func checkListener(protocol string, port int32, tls ListenerTLS) error {
	switch protocol {
	case "", ProtocolTCP:
	case "TLS", "UDP", "TCP_UDP":
		return model.Invalid("Listener protocol '%s' is not supported yet: Strait's network load balancers have TCP listeners only", protocol)
	default:
		return model.Invalid("Listener protocol '%s' is not valid for a network load balancer: use 'TCP'", protocol)
	}
	if port != 0 && (port < 1 || port > 65535) {
		return model.Invalid("Listener port '%d' is not valid: it must be from 1 to 65535", port)
	}
	if len(tls.Certificates) > 0 || tls.SSLPolicy != "" || len(tls.ALPNPolicy) > 0 {
		return model.Invalid("Certificates, SSL policies and ALPN policies apply to TLS listeners only, and Strait's listeners are TCP")
	}
	return nil
}

// forwardTarget checks a listener's default actions — one forward action to one
// target group — and returns the target group's ARN.
func forwardTarget(actions []ListenerAction) (string, error) {
	if len(actions) != 1 {
		return "", model.Invalid("A network load balancer listener has exactly one default action, a forward action, not %d actions", len(actions))
	}
	a := actions[0]
	if a.Type != "forward" {
		return "", model.Invalid("Action type '%s' is not supported by network load balancer listeners: use 'forward'", a.Type)
	}
	groups := slices.Compact(slices.Clone(a.ForwardTargetGroups))
	switch {
	case len(groups) > 1:
		return "", model.Invalid("A network load balancer listener forwards to exactly one target group, not %d", len(groups))
	case len(groups) == 1 && a.TargetGroupARN != "" && groups[0] != a.TargetGroupARN:
		return "", model.Invalid("The target group of ForwardConfig must be the one given as TargetGroupArn")
	case len(groups) == 1:
		return groups[0], nil
	case a.TargetGroupARN == "":
		return "", model.Invalid("A forward action needs a target group: give TargetGroupArn or ForwardConfig.TargetGroups")
	}
	return a.TargetGroupARN, nil
}

// txLinkTargetGroup checks that a listener of lb may forward to a target group and
// records that it does.
func (c *ELB) txLinkTargetGroup(tx *store.Tx, acct string, lb model.LoadBalancer, tgARN, listenerARN string) error {
	tg, err := txGetELB[model.TargetGroup](c, tx, acct, tgARN, model.KindTargetGroup)
	if err != nil {
		return err
	}
	if tg.Protocol != ProtocolTCP {
		return model.WithReason(model.ErrInvalid, model.ReasonIncompatibleProtocols, "Target group '%s' has protocol '%s', and a TCP listener needs a TCP target group", tgARN, tg.Protocol)
	}
	if tg.TargetType != TargetTypeIP && tg.TargetType != TargetTypeInstance {
		return model.WithReason(model.ErrInvalid, model.ReasonConfiguration, "Target group '%s' has target type '%s'; a network load balancer forwards to 'ip' or 'instance' target groups", tgARN, tg.TargetType)
	}
	if tg.VpcID != lb.VpcID {
		return model.WithReason(model.ErrInvalid, model.ReasonConfiguration, "Target group '%s' is in VPC '%s', but load balancer '%s' is in VPC '%s'", tgARN, tg.VpcID, lb.ARN, lb.VpcID)
	}
	for _, other := range TargetGroupLoadBalancers(tg) {
		if other != lb.ARN {
			return model.WithReason(model.ErrLimit, model.ReasonTargetGroupAssociations, "The following target groups cannot be associated with more than one load balancer: '%s'", tgARN)
		}
	}
	tg.Listeners = elbAppendOnce(tg.Listeners, listenerARN)
	return tx.Put(core.Key(model.KindTargetGroup, model.ARNResourceID(tgARN)), tg)
}

// txUnlinkTargetGroup records that a listener no longer forwards to a target group.
func txUnlinkTargetGroup(tx *store.Tx, tgARN, listenerARN string) error {
	id := model.ARNResourceID(tgARN)
	tg, err := core.TxGet[model.TargetGroup](tx, model.KindTargetGroup, id)
	if errors.Is(err, model.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	tg.Listeners = elbWithout(tg.Listeners, listenerARN)
	if len(tg.Listeners) == 0 {
		tg.Listeners = nil
	}
	return tx.Put(core.Key(model.KindTargetGroup, id), tg)
}

// txSameListener returns the listener of lb on port if it has the given protocol
// and forwards to tgARN, and the zero Listener if the port is free or used by a
// listener with other settings.
func txSameListener(tx *store.Tx, lb model.LoadBalancer, port int32, protocol, tgARN string) (model.Listener, error) {
	var arn string
	if ok, err := tx.Get(listenerPortKey(lb.ARN, port), &arn); err != nil || !ok {
		return model.Listener{}, err
	}
	l, err := core.TxGet[model.Listener](tx, model.KindListener, model.ARNResourceID(arn))
	if errors.Is(err, model.ErrNotFound) {
		return model.Listener{}, nil
	}
	if err != nil {
		return model.Listener{}, err
	}
	if l.Protocol != protocol || len(l.Actions) != 1 || l.Actions[0].TargetGroupARN != tgARN {
		return model.Listener{}, nil
	}
	return l, nil
}

// txClaimPort reserves a port of a load balancer for a listener.
func txClaimPort(tx *store.Tx, lb model.LoadBalancer, port int32, listenerARN string) error {
	k := listenerPortKey(lb.ARN, port)
	if tx.Exists(k) {
		return model.Duplicate(model.KindListener, listenerARN, "A listener already exists on this port for this load balancer '%s'", lb.ARN)
	}
	return tx.Put(k, listenerARN)
}

func listenerPortKey(lbARN string, port int32) string {
	return fmt.Sprintf("listenerport/%s/%d", model.ARNResourceID(lbARN), port)
}

// Listener returns one of the account's listeners by ARN.
func (c *ELB) Listener(ctx context.Context, acct, arn string) (model.Listener, error) {
	return getELB[model.Listener](ctx, c, acct, arn, model.KindListener)
}

// Listeners returns the listeners of one of the account's load balancers.
func (c *ELB) Listeners(ctx context.Context, acct, lbARN string) ([]model.Listener, error) {
	if _, err := c.LoadBalancer(ctx, acct, lbARN); err != nil {
		return nil, err
	}
	all, err := core.List[model.Listener](ctx, c.Store(), model.KindListener)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, l := range all {
		if l.Owner == acct && l.LoadBalancerARN == lbARN {
			out = append(out, l)
		}
	}
	return out, nil
}

// ModifyListener changes a listener's port, protocol or default action.
func (c *ELB) ModifyListener(ctx context.Context, acct, arn string, in ModifyListenerInput) (model.Listener, error) {
	if _, err := c.Listener(ctx, acct, arn); err != nil {
		return model.Listener{}, err
	}
	if err := checkListener(in.Protocol, in.Port, in.TLS); err != nil {
		return model.Listener{}, err
	}
	var tgARN string
	if len(in.Actions) > 0 {
		var err error
		if tgARN, err = forwardTarget(in.Actions); err != nil {
			return model.Listener{}, err
		}
	}
	var l model.Listener
	err := c.Update(ctx, func(tx *store.Tx) error {
		var err error
		if l, err = txGetELB[model.Listener](c, tx, acct, arn, model.KindListener); err != nil {
			return err
		}
		lb, err := txGetELB[model.LoadBalancer](c, tx, acct, l.LoadBalancerARN, model.KindLoadBalancer)
		if err != nil {
			return err
		}
		if in.Port != 0 && in.Port != l.Port {
			if err := txClaimPort(tx, lb, in.Port, arn); err != nil {
				return err
			}
			tx.Delete(listenerPortKey(lb.ARN, l.Port))
			l.Port = in.Port
		}
		if in.Protocol != "" {
			l.Protocol = in.Protocol
		}
		if tgARN != "" && tgARN != l.Actions[0].TargetGroupARN {
			if err := txUnlinkTargetGroup(tx, l.Actions[0].TargetGroupARN, arn); err != nil {
				return err
			}
			if err := c.txLinkTargetGroup(tx, acct, lb, tgARN, arn); err != nil {
				return err
			}
			l.Actions = []model.Action{{Type: "forward", TargetGroupARN: tgARN}}
		}
		return tx.Put(core.Key(model.KindListener, model.ARNResourceID(arn)), l)
	})
	return l, err
}

// DeleteListener deletes a listener; its target group stops receiving its traffic.
func (c *ELB) DeleteListener(ctx context.Context, acct, arn string) error {
	if _, err := c.Listener(ctx, acct, arn); err != nil {
		return err
	}
	return c.Update(ctx, func(tx *store.Tx) error { return c.txDeleteListener(tx, acct, arn) })
}

// txDeleteListener removes a listener and every reference to it.
func (c *ELB) txDeleteListener(tx *store.Tx, acct, arn string) error {
	l, err := txGetELB[model.Listener](c, tx, acct, arn, model.KindListener)
	if err != nil {
		return err
	}
	for _, a := range l.Actions {
		if err := txUnlinkTargetGroup(tx, a.TargetGroupARN, arn); err != nil {
			return err
		}
	}
	lbID := model.ARNResourceID(l.LoadBalancerARN)
	lb, err := core.TxGet[model.LoadBalancer](tx, model.KindLoadBalancer, lbID)
	if err == nil {
		lb.Listeners = elbWithout(lb.Listeners, arn)
		if len(lb.Listeners) == 0 {
			lb.Listeners = nil
		}
		if err := tx.Put(core.Key(model.KindLoadBalancer, lbID), lb); err != nil {
			return err
		}
	} else if !errors.Is(err, model.ErrNotFound) {
		return err
	}
	tx.Delete(listenerPortKey(l.LoadBalancerARN, l.Port))
	tx.Delete(core.Key(model.KindListener, model.ARNResourceID(arn)))
	return nil
}
