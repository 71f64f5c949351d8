package console

import (
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
	ctx := r.Context()
	lbs, err := c.ctl.LoadBalancers(ctx, s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	var out []lbView
	for _, lb := range lbs {
		v := lbView{LB: lb}
		if v.Listeners, err = c.ctl.Listeners(ctx, s.Account, lb.ARN); err != nil {
			c.failed(w, r, s, err)
			return
		}
		groups, err := c.ctl.TargetGroupsOfLoadBalancer(ctx, s.Account, lb.ARN)
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		for _, g := range groups {
			h, err := c.ctl.DescribeTargetHealth(ctx, s.Account, g.ARN, nil)
			if err != nil {
				c.failed(w, r, s, err)
				return
			}
			v.Groups = append(v.Groups, tgView{Group: g, Health: h})
		}
		out = append(out, v)
	}
	c.render(w, r, http.StatusOK, "load_balancers", s, view{Title: "Load balancers", Nav: "load-balancers", Data: out})
}
