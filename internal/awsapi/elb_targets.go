package awsapi

import (
	"context"

	"strait/internal/control/elb"
	"strait/internal/model"
)

func (a *API) targetActions() map[string]handler {
	return map[string]handler{
		"RegisterTargets":      bind(a.registerTargets),
		"DeregisterTargets":    bind(a.deregisterTargets),
		"DescribeTargetHealth": bind(a.describeTargetHealth),
	}
}

// elbTargetDescription is the ELBv2 TargetDescription shape.
type elbTargetDescription struct {
	Id               string
	Port             *int32
	AvailabilityZone string
	QuicServerId     string
}

type elbTargetsRequest struct {
	TargetGroupArn string
	Targets        []elbTargetDescription
}

func elbTargetInputs(targets []elbTargetDescription) ([]elb.TargetInput, error) {
	out := make([]elb.TargetInput, len(targets))
	for i, t := range targets {
		if t.QuicServerId != "" {
			return nil, model.InvalidKind(model.KindTarget, t.Id, "QUIC server IDs apply to QUIC target groups only")
		}
		out[i] = elb.TargetInput{ID: t.Id, AZ: t.AvailabilityZone}
		if t.Port != nil {
			if *t.Port < 1 || *t.Port > 65535 {
				return nil, model.InvalidKind(model.KindTarget, t.Id, "The port of target '%s' must be from 1 to 65535, not %d", t.Id, *t.Port)
			}
			out[i].Port = *t.Port
		}
	}
	return out, nil
}

func (a *API) registerTargets(ctx context.Context, c *caller, req *elbTargetsRequest) (*emptyResponse, error) {
	targets, err := elbTargetInputs(req.Targets)
	if err != nil {
		return nil, err
	}
	return &emptyResponse{}, a.ctl.RegisterTargets(ctx, c.Account, req.TargetGroupArn, targets)
}

func (a *API) deregisterTargets(ctx context.Context, c *caller, req *elbTargetsRequest) (*emptyResponse, error) {
	targets, err := elbTargetInputs(req.Targets)
	if err != nil {
		return nil, err
	}
	return &emptyResponse{}, a.ctl.DeregisterTargets(ctx, c.Account, req.TargetGroupArn, targets)
}

// elbTargetHealthDescription is the ELBv2 TargetHealthDescription shape.
type elbTargetHealthDescription struct {
	Target          *elbTargetDescription
	HealthCheckPort string
	TargetHealth    *elbTargetHealth
}

type elbTargetHealth struct {
	State       string
	Reason      string
	Description string
}

type describeTargetHealthResponse struct {
	TargetHealthDescriptions []elbTargetHealthDescription
}

func (a *API) describeTargetHealth(ctx context.Context, c *caller, req *elbTargetsRequest) (*describeTargetHealthResponse, error) {
	filter, err := elbTargetInputs(req.Targets)
	if err != nil {
		return nil, err
	}
	infos, err := a.ctl.DescribeTargetHealth(ctx, c.Account, req.TargetGroupArn, filter)
	if err != nil {
		return nil, err
	}
	out := &describeTargetHealthResponse{TargetHealthDescriptions: []elbTargetHealthDescription{}}
	for _, in := range infos {
		port := in.Target.Port
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbTargetHealthDescription{
			Target:          &elbTargetDescription{Id: in.Target.ID, Port: &port, AvailabilityZone: in.Target.AZ},
			HealthCheckPort: in.HealthCheckPort,
			TargetHealth:    &elbTargetHealth{State: in.Health.State, Reason: in.Health.Reason, Description: in.Health.Description},
		})
	}
	return out, nil
}
