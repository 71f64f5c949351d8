package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"strait/internal/control/endpoints"
	"strait/internal/model"
)

// endpointView is one interface endpoint as the consumer's Endpoints page shows
// it: its records, its interfaces' addresses per subnet, its groups' names.
type endpointView struct {
	endpoints.EndpointDetail
	ENIs []model.NetworkInterface
}

func (c *Console) endpointsPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	eps, err := c.ctl.Endpoints(ctx, s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	enis, err := c.ctl.NetworkInterfaces(ctx, s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	byID := map[string]model.NetworkInterface{}
	for _, e := range enis {
		byID[e.ID] = e
	}
	var out []endpointView
	for _, ep := range eps {
		v := endpointView{EndpointDetail: ep}
		for _, id := range ep.Endpoint.ENIs {
			if e, ok := byID[id]; ok {
				v.ENIs = append(v.ENIs, e)
			}
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b endpointView) int { return b.Created.Compare(a.Created) })
	c.render(w, r, http.StatusOK, "endpoints", s, view{Title: "Endpoints", Nav: "endpoints", Data: out})
}

// wizardView is the create-endpoint wizard: service name → Verify service → VPC
// → one subnet per zone → security groups → private DNS. Each step is a GET of
// the same page with what was chosen so far; only Create endpoint posts.
type wizardView struct {
	Service  *model.EndpointService
	Vpcs     []model.Vpc
	Vpc      *model.Vpc
	Zones    []zoneChoice
	Groups   []model.SecurityGroup
	Verified bool
}

// zoneChoice is one availability zone of the service and the VPC's subnets in it.
type zoneChoice struct {
	Zone    string
	Subnets []model.Subnet
}

func (c *Console) newEndpointPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showWizard(w, r, s, http.StatusOK, nil, r.URL.Query())
}

func (c *Console) showWizard(w http.ResponseWriter, r *http.Request, s *session, status int, errs formErrors, form url.Values) {
	ctx := r.Context()
	if errs == nil {
		errs = formErrors{}
	}
	var v wizardView
	name := strings.TrimSpace(form.Get("service_name"))
	if name != "" {
		svc, err := c.ctl.ServiceByName(ctx, s.Account, name)
		if err != nil {
			if _, ok := errs["service_name"]; !ok {
				errs["service_name"] = "No service named " + name + " is open to your account: check the name with the provider (it starts with com.amazonaws.vpce.), and that they allowed your account as a principal."
			}
		} else {
			v.Service, v.Verified = &svc, true
		}
	}
	if v.Verified {
		vpcs, err := c.ctl.Vpcs(ctx, s.Account)
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		v.Vpcs = vpcs
		if id := form.Get("vpc_id"); id != "" {
			if vpc, err := c.ctl.Vpc(ctx, s.Account, id); err == nil {
				v.Vpc = &vpc
			} else if _, ok := errs["vpc_id"]; !ok {
				errs["vpc_id"] = "Choose one of your VPCs."
			}
		}
	}
	if v.Vpc != nil {
		subnets, err := c.ctl.Subnets(ctx, s.Account)
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		for _, az := range v.Service.AZs {
			zc := zoneChoice{Zone: az}
			for _, sn := range subnets {
				if sn.VpcID == v.Vpc.ID && sn.AZ == az {
					zc.Subnets = append(zc.Subnets, sn)
				}
			}
			v.Zones = append(v.Zones, zc)
		}
		groups, err := c.ctl.SecurityGroups(ctx, s.Account)
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		for _, g := range groups {
			if g.VpcID == v.Vpc.ID {
				v.Groups = append(v.Groups, g)
			}
		}
	}
	c.render(w, r, status, "endpoint_new", s, view{Title: "Create endpoint", Nav: "endpoints", Errors: errs, Form: form, Data: v})
}

func (c *Console) createEndpoint(w http.ResponseWriter, r *http.Request, s *session) {
	form := r.PostForm
	in := endpoints.CreateEndpointInput{Type: "Interface", VpcID: form.Get("vpc_id"), ServiceName: strings.TrimSpace(form.Get("service_name")),
		SecurityGroupIDs: form["security_group_ids"]}
	for k, vals := range form {
		if strings.HasPrefix(k, "subnet_") {
			for _, v := range vals {
				if v != "" {
					in.SubnetIDs = append(in.SubnetIDs, v)
				}
			}
		}
	}
	slices.Sort(in.SubnetIDs)
	dns := form.Get("private_dns") == "on"
	in.PrivateDNSEnabled = &dns
	if len(in.SubnetIDs) == 0 {
		c.showWizard(w, r, s, http.StatusBadRequest, formErrors{"subnets": "Choose a subnet in at least one availability zone (one per zone is best, for fault tolerance)."}, form)
		return
	}
	if len(in.SecurityGroupIDs) == 0 {
		c.showWizard(w, r, s, http.StatusBadRequest, formErrors{"security_group_ids": "Choose at least one security group: it decides which of your hosts may connect to the endpoint."}, form)
		return
	}
	ep, err := c.ctl.CreateEndpoint(r.Context(), s.Account, in)
	if err != nil {
		fields := []string{"service_name", "vpc_id", "security_group_ids"}
		for k := range form {
			if strings.HasPrefix(k, "subnet_") {
				fields = append(fields, k)
			}
		}
		fe, err := fieldErrors(err, form, fields, "")
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		for k, msg := range fe {
			if strings.HasPrefix(k, "subnet_") {
				delete(fe, k)
				fe["subnets"] = msg
			}
		}
		c.showWizard(w, r, s, http.StatusBadRequest, fe, form)
		return
	}
	msg := "Endpoint " + ep.ID + " created; it is " + ep.State + "."
	if ep.State == model.EndpointPendingAcceptance {
		msg += " Give its ID to the service provider: it carries traffic once they accept it."
	}
	c.redirect(w, r, s, c.path("endpoints"), msg)
}

func (c *Console) ownEndpoint(r *http.Request, s *session) (endpoints.EndpointDetail, error) {
	id := r.PathValue("id")
	eps, err := c.ctl.DescribeEndpoints(r.Context(), s.Account, []string{id}, nil)
	if err != nil {
		return endpoints.EndpointDetail{}, err
	}
	if len(eps) == 0 {
		return endpoints.EndpointDetail{}, model.NotFound(model.KindEndpoint, id)
	}
	return eps[0], nil
}

func (c *Console) privateDNSPage(w http.ResponseWriter, r *http.Request, s *session) {
	ep, err := c.ownEndpoint(r, s)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	form := url.Values{}
	if ep.PrivateDNSEnabled {
		form.Set("private_dns", "on")
	}
	c.render(w, r, http.StatusOK, "endpoint_dns", s, view{Title: "Modify private DNS name", Nav: "endpoints", Form: form, Data: ep})
}

func (c *Console) modifyPrivateDNS(w http.ResponseWriter, r *http.Request, s *session) {
	ep, err := c.ownEndpoint(r, s)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	on := r.PostForm.Get("private_dns") == "on"
	if err := c.ctl.ModifyEndpoint(r.Context(), s.Account, ep.ID, endpoints.ModifyEndpointInput{PrivateDNSEnabled: &on}); err != nil {
		fe, ferr := fieldErrors(err, r.PostForm, nil, "private_dns")
		if ferr != nil {
			c.failed(w, r, s, ferr)
			return
		}
		c.render(w, r, http.StatusBadRequest, "endpoint_dns", s, view{Title: "Modify private DNS name", Nav: "endpoints", Errors: fe, Form: r.PostForm, Data: ep})
		return
	}
	msg := "Private DNS names disabled for " + ep.ID + "."
	if on {
		msg = "Private DNS names enabled for " + ep.ID + "."
	}
	c.redirect(w, r, s, c.path("endpoints"), msg)
}

func (c *Console) deleteEndpointPage(w http.ResponseWriter, r *http.Request, s *session) {
	ep, err := c.ownEndpoint(r, s)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "confirm", s, view{Title: "Delete endpoint", Nav: "endpoints", Data: confirmView{
		Question: "Delete the endpoint " + ep.ID + "?",
		Detail:   "Its network interfaces and DNS names go away; connections through it are closed.",
		Action:   c.path("endpoints/" + ep.ID + "/delete"), Cancel: c.path("endpoints"), Button: "Delete endpoint"}})
}

func (c *Console) deleteEndpoint(w http.ResponseWriter, r *http.Request, s *session) {
	ep, err := c.ownEndpoint(r, s)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	failed, err := c.ctl.DeleteEndpoints(r.Context(), s.Account, []string{ep.ID})
	if err == nil && len(failed) > 0 {
		err = failed[0].Err
	}
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.redirect(w, r, s, c.path("endpoints"), "Endpoint "+ep.ID+" is being deleted.")
}
