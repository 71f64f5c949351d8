package console

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"strait/internal/control/elb"
	"strait/internal/control/endpoints"
	"strait/internal/model"
)

// The provider's resources made with the AWS APIs directly: endpoint services
// with their connections, and network load balancers with listeners, target
// groups and per-target health.

type rawServiceView struct {
	Service     model.EndpointService
	Connections []endpoints.EndpointDetail
}

func (c *Console) endpointServicesPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showEndpointServices(w, r, s, http.StatusOK, nil)
}

func (c *Console) showEndpointServices(w http.ResponseWriter, r *http.Request, s *session, status int, errs formErrors) {
	ctx := r.Context()
	svcs, err := c.ctl.EndpointServices(ctx, s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	conns, err := c.ctl.EndpointConnections(ctx, s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	var out []rawServiceView
	for _, svc := range svcs {
		v := rawServiceView{Service: svc}
		for _, d := range conns {
			if d.ServiceID == svc.ID {
				v.Connections = append(v.Connections, d)
			}
		}
		out = append(out, v)
	}
	c.render(w, r, status, "endpoint_services", s, view{Title: "Endpoint services", Nav: "endpoint-services", Errors: errs, Data: out})
}

func (c *Console) decideRaw(w http.ResponseWriter, r *http.Request, s *session, accept bool) {
	id := r.PathValue("id")
	eps := splitList(r.PostForm.Get("endpoint_ids"))
	op, verb := c.ctl.RejectEndpointConnections, "rejected"
	if accept {
		op, verb = c.ctl.AcceptEndpointConnections, "accepted"
	}
	failed, err := op(r.Context(), s.Account, id, eps)
	if err == nil && len(failed) > 0 {
		err = failed[0].Err
	}
	if err != nil {
		fe, err := fieldErrors(err, r.PostForm, nil, id)
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		c.showEndpointServices(w, r, s, http.StatusBadRequest, fe)
		return
	}
	c.redirect(w, r, s, c.path("endpoint-services"), "Connection "+strings.Join(eps, ", ")+" "+verb+".")
}

func (c *Console) acceptRaw(w http.ResponseWriter, r *http.Request, s *session) {
	c.decideRaw(w, r, s, true)
}
func (c *Console) rejectRaw(w http.ResponseWriter, r *http.Request, s *session) {
	c.decideRaw(w, r, s, false)
}

type lbView struct {
	LB        model.LoadBalancer
	Listeners []model.Listener
	Groups    []tgView
}

type tgView struct {
	Group  model.TargetGroup
	Health []elb.TargetHealthInfo
}

func (c *Console) loadBalancersPage(w http.ResponseWriter, r *http.Request, s *session) {
	lbs, err := c.ctl.LoadBalancers(r.Context(), s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	out, err := c.loadBalancerViews(r.Context(), s.Account, lbs)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "load_balancers", s, view{Title: "Load balancers", Nav: "load-balancers", Data: out})
}

// loadBalancerViews adds listeners, target groups and target health to the
// load balancers just listed. A load balancer or target group deleted since it
// was listed (a PrivateLink resource's deletion removes them one by one) is left
// out, as the next read would.
func (c *Console) loadBalancerViews(ctx context.Context, acct string, lbs []model.LoadBalancer) ([]lbView, error) {
	var out []lbView
	for _, lb := range lbs {
		v := lbView{LB: lb}
		var err error
		if v.Listeners, err = c.ctl.Listeners(ctx, acct, lb.ARN); errors.Is(err, model.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		groups, err := c.ctl.TargetGroupsOfLoadBalancer(ctx, acct, lb.ARN)
		if errors.Is(err, model.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		for _, g := range groups {
			h, err := c.ctl.DescribeTargetHealth(ctx, acct, g.ARN, nil)
			if errors.Is(err, model.ErrNotFound) {
				continue
			} else if err != nil {
				return nil, err
			}
			v.Groups = append(v.Groups, tgView{Group: g, Health: h})
		}
		out = append(out, v)
	}
	return out, nil
}
