package awsapi

import (
	"context"
	"fmt"

	"strait/internal/control/elb"
	"strait/internal/model"
)

func (a *API) listenerActions() map[string]handler {
	return map[string]handler{
		"CreateListener":    bind(a.createListener),
		"DescribeListeners": bind(a.describeListeners),
		"ModifyListener":    bind(a.modifyListener),
		"DeleteListener":    bind(a.deleteListener),
	}
}

// elbListener is the ELBv2 Listener shape.
type elbListener struct {
	ListenerArn     string
	LoadBalancerArn string
	Port            int32
	Protocol        string
	DefaultActions  []elbAction
}

// elbAction is the ELBv2 Action shape (forward actions only).
type elbAction struct {
	Type           string
	TargetGroupArn string
	ForwardConfig  *elbForwardConfig
}

type elbForwardConfig struct {
	TargetGroups                []elbTargetGroupTuple
	TargetGroupStickinessConfig *elbStickinessConfig
}

type elbTargetGroupTuple struct {
	TargetGroupArn string
	Weight         *int32
}

type elbStickinessConfig struct {
	Enabled         *bool
	DurationSeconds *int32
}

type elbCertificate struct {
	CertificateArn string
}

func toELBListener(l model.Listener) elbListener {
	out := elbListener{ListenerArn: l.ARN, LoadBalancerArn: l.LoadBalancerARN, Port: l.Port, Protocol: l.Protocol, DefaultActions: []elbAction{}}
	for _, a := range l.Actions {
		weight, sticky := int32(1), false
		out.DefaultActions = append(out.DefaultActions, elbAction{
			Type: a.Type, TargetGroupArn: a.TargetGroupARN,
			ForwardConfig: &elbForwardConfig{
				TargetGroups:                []elbTargetGroupTuple{{TargetGroupArn: a.TargetGroupARN, Weight: &weight}},
				TargetGroupStickinessConfig: &elbStickinessConfig{Enabled: &sticky},
			},
		})
	}
	return out
}

// listenerActionInputs converts a request's default actions.
func listenerActionInputs(actions []elbAction) ([]elb.ListenerAction, error) {
	out := make([]elb.ListenerAction, 0, len(actions))
	for _, a := range actions {
		in := elb.ListenerAction{Type: a.Type, TargetGroupARN: a.TargetGroupArn}
		if f := a.ForwardConfig; f != nil {
			if s := f.TargetGroupStickinessConfig; s != nil && s.Enabled != nil && *s.Enabled {
				return nil, model.Invalid("Target group stickiness in forward actions applies to application load balancers only")
			}
			for _, t := range f.TargetGroups {
				in.ForwardTargetGroups = append(in.ForwardTargetGroups, t.TargetGroupArn)
			}
		}
		out = append(out, in)
	}
	return out, nil
}

func listenerTLS(certs []elbCertificate, sslPolicy string, alpn []string) elb.ListenerTLS {
	tls := elb.ListenerTLS{SSLPolicy: sslPolicy, ALPNPolicy: alpn}
	for _, c := range certs {
		tls.Certificates = append(tls.Certificates, c.CertificateArn)
	}
	return tls
}

type createListenerRequest struct {
	LoadBalancerArn string
	Protocol        string
	Port            int32
	DefaultActions  []elbAction
	Certificates    []elbCertificate
	SslPolicy       string
	AlpnPolicy      []string
	Tags            []elbTag
}

type listenersResponse struct {
	Listeners []elbListener
}

func (a *API) createListener(ctx context.Context, c *caller, req *createListenerRequest) (*listenersResponse, error) {
	actions, err := listenerActionInputs(req.DefaultActions)
	if err != nil {
		return nil, err
	}
	l, err := a.ctl.CreateListener(ctx, c.Account, elb.CreateListenerInput{
		LoadBalancerARN: req.LoadBalancerArn, Protocol: req.Protocol, Port: req.Port, Actions: actions,
		TLS: listenerTLS(req.Certificates, req.SslPolicy, req.AlpnPolicy), Tags: keyValues[elb.ELBTag](req.Tags),
	})
	if err != nil {
		return nil, err
	}
	return &listenersResponse{Listeners: []elbListener{toELBListener(l)}}, nil
}

type describeListenersRequest struct {
	LoadBalancerArn string
	ListenerArns    []string
	Marker          string
	PageSize        *int32
}

type describeListenersResponse struct {
	Listeners  []elbListener
	NextMarker string
}

func (a *API) describeListeners(ctx context.Context, c *caller, req *describeListenersRequest) (*describeListenersResponse, error) {
	if req.LoadBalancerArn == "" && len(req.ListenerArns) == 0 {
		return nil, model.Invalid("You must specify either listener ARNs or a load balancer ARN")
	}
	if err := elbOnlyOne(map[string]bool{"LoadBalancerArn": req.LoadBalancerArn != "", "ListenerArns": len(req.ListenerArns) > 0}); err != nil {
		return nil, err
	}
	// elbOnlyOne leaves one of the two: the load balancer or the listener ARNs.
	var ls []model.Listener
	var err error
	if req.LoadBalancerArn != "" {
		ls, err = a.ctl.Listeners(ctx, c.Account, req.LoadBalancerArn)
	} else {
		ls, err = elbByARNs(req.ListenerArns, func(arn string) (model.Listener, error) {
			return a.ctl.Listener(ctx, c.Account, arn)
		}, func(l model.Listener) string { return l.ARN })
	}
	if err != nil {
		return nil, err
	}
	sortKey := func(l model.Listener) string { return fmt.Sprintf("%s/%05d", l.LoadBalancerARN, l.Port) }
	page, next, err := elbPage(ls, sortKey, req.PageSize, req.Marker, toELBListener)
	if err != nil {
		return nil, err
	}
	return &describeListenersResponse{Listeners: page, NextMarker: next}, nil
}

type modifyListenerRequest struct {
	ListenerArn    string
	Protocol       string
	Port           int32
	DefaultActions []elbAction
	Certificates   []elbCertificate
	SslPolicy      string
	AlpnPolicy     []string
}

func (a *API) modifyListener(ctx context.Context, c *caller, req *modifyListenerRequest) (*listenersResponse, error) {
	actions, err := listenerActionInputs(req.DefaultActions)
	if err != nil {
		return nil, err
	}
	l, err := a.ctl.ModifyListener(ctx, c.Account, req.ListenerArn, elb.ModifyListenerInput{
		Protocol: req.Protocol, Port: req.Port, Actions: actions,
		TLS: listenerTLS(req.Certificates, req.SslPolicy, req.AlpnPolicy),
	})
	if err != nil {
		return nil, err
	}
	return &listenersResponse{Listeners: []elbListener{toELBListener(l)}}, nil
}

type deleteListenerRequest struct {
	ListenerArn string
}

func (a *API) deleteListener(ctx context.Context, c *caller, req *deleteListenerRequest) (*emptyResponse, error) {
	return &emptyResponse{}, a.ctl.DeleteListener(ctx, c.Account, req.ListenerArn)
}
