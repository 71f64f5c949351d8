// Package awsapi serves the AWS EC2 and ELBv2 Query APIs over the control layer:
// SigV4 authentication (package sigv4), form decoding and XML encoding driven by
// the AWS SDK models, one map from action name to handler per service, and one
// table that translates domain errors into AWS error codes.
package awsapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"sync"

	"strait/internal/control"
	"strait/internal/sigv4"
)

// Config configures the API.
type Config struct {
	// Dev accepts any secret: a 12-digit access key ID is that account, any other key
	// is account 000000000000.
	Dev    bool
	Logger *slog.Logger
}

// API is the HTTP handler of both Query APIs.
type API struct {
	ctl      *control.Control
	accounts sigv4.Accounts
	cfg      Config
	log      *slog.Logger
	services map[string]*service
	metrics  *metrics
	// defaultVpcs holds the accounts whose default VPC is known to be set up.
	defaultVpcs sync.Map
}

// service is one AWS service: its model and its actions.
type service struct {
	name    string // signing name: "ec2" or "elasticloadbalancing"
	model   *apiModel
	actions map[string]handler
}

// caller is who sent a request.
type caller struct {
	Account   string
	Region    string
	RequestID string
}

// handler runs one action: decode decodes the request into a struct.
type handler func(ctx context.Context, c *caller, decode func(any) error) (any, error)

// bind adapts a typed action method to a handler: it decodes the request into Req
// following the model, answers DryRun requests, and returns the typed response.
func bind[Req, Resp any](f func(context.Context, *caller, *Req) (*Resp, error)) handler {
	return func(ctx context.Context, c *caller, decode func(any) error) (any, error) {
		req := new(Req)
		if err := decode(req); err != nil {
			return nil, err
		}
		if dry := reflect.ValueOf(req).Elem().FieldByName("DryRun"); dry.IsValid() && dry.Kind() == reflect.Bool && dry.Bool() {
			return nil, &apiError{Code: "DryRunOperation", Message: "Request would have succeeded, but DryRun flag is set.", Status: 412}
		}
		return f(ctx, c, req)
	}
}

// New builds the API over a control plane.
func New(ctl *control.Control, accounts sigv4.Accounts, cfg Config) (*API, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &API{ctl: ctl, accounts: accounts, cfg: cfg, log: cfg.Logger, metrics: newMetrics()}
	ms, err := models()
	if err != nil {
		return nil, err
	}
	ec2, elb := ms[0], ms[1]
	a.services = map[string]*service{
		"ec2":                  {name: "ec2", model: ec2, actions: a.ec2Actions()},
		"elasticloadbalancing": {name: "elasticloadbalancing", model: elb, actions: a.elbActions()},
	}
	for _, svc := range a.services {
		for name := range svc.actions {
			if svc.model.Operations[name] == nil {
				return nil, fmt.Errorf("awsapi: action %s is not in the %s model", name, svc.name)
			}
		}
	}
	return a, nil
}

// merge joins action maps; a name defined twice is a programming error.
func merge(groups ...map[string]handler) map[string]handler {
	out := map[string]handler{}
	for _, g := range groups {
		for name, h := range g {
			if _, dup := out[name]; dup {
				panic("awsapi: action " + name + " registered twice")
			}
			out[name] = h
		}
	}
	return out
}

// decodeFunc returns the decoder of one request.
func decodeFunc(m *apiModel, action string, form url.Values) func(any) error {
	d := &decoder{m: m}
	return func(out any) error { return d.decodeRequest(form, action, out) }
}
