package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"strait/internal/control/published"
	"strait/internal/model"
)

// newComponentRows is how many empty component rows the create form offers
// (without JavaScript; the script adds more).
const newComponentRows = 4

type homeView struct {
	Services, Endpoints, Vpcs, Instances int
	Pending                              int // connections waiting for acceptance
}

func (c *Console) home(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	var hv homeView
	svcs, err := c.ctl.PublishedServices(ctx, s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	hv.Services = len(svcs)
	eps, err := c.ctl.Endpoints(ctx, s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	hv.Endpoints = len(eps)
	vpcs, err := c.ctl.Vpcs(ctx, s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	hv.Vpcs = len(vpcs)
	insts, err := c.ctl.Instances(ctx, s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	hv.Instances = len(insts)
	conns, err := c.ctl.EndpointConnections(ctx, s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	for _, d := range conns {
		if d.State == model.EndpointPendingAcceptance {
			hv.Pending++
		}
	}
	c.render(w, r, http.StatusOK, "home", s, view{Title: "Overview", Nav: "home", Data: hv})
}

func (c *Console) servicesPage(w http.ResponseWriter, r *http.Request, s *session) {
	svcs, err := c.ctl.PublishedServices(r.Context(), s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "services", s, view{Title: "Published services", Nav: "services", Data: svcs})
}

type newServiceView struct {
	Vpcs    []model.Vpc
	Subnets []model.Subnet
	Rows    []int
}

func (c *Console) newServicePage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showNewService(w, r, s, http.StatusOK, nil, url.Values{})
}

func (c *Console) showNewService(w http.ResponseWriter, r *http.Request, s *session, status int, errs formErrors, form url.Values) {
	vpcs, err := c.ctl.Vpcs(r.Context(), s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	subnets, err := c.ctl.Subnets(r.Context(), s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	rows := newComponentRows
	if n, err := strconv.Atoi(form.Get("rows")); err == nil && n > rows && n <= 50 {
		rows = n
	}
	v := newServiceView{Vpcs: vpcs, Subnets: subnets}
	for i := range rows {
		v.Rows = append(v.Rows, i)
	}
	c.render(w, r, status, "service_new", s, view{Title: "Create a published service", Nav: "services", Errors: errs, Form: form, Data: v})
}

// componentRow reads row i of a component form: name, port, targets, access.
func componentRow(form url.Values, prefix string) (model.Component, bool, formErrors) {
	name := strings.TrimSpace(form.Get(prefix + "name"))
	portStr := strings.TrimSpace(form.Get(prefix + "port"))
	targets := splitList(form.Get(prefix + "targets"))
	if name == "" && portStr == "" && len(targets) == 0 {
		return model.Component{}, false, nil
	}
	errs := formErrors{}
	if name == "" {
		errs[prefix+"name"] = "Give the component a name, for example mysql or kafka."
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		errs[prefix+"port"] = "Enter the component's TCP port, a number from 1 to 65535."
	}
	return model.Component{Name: name, Port: int32(port), Targets: targets, PrivateLinkAccess: form.Get(prefix+"access") == "on"}, true, errs
}

// componentFields are the fields of a component form's rows, for placing errors.
func componentFields(prefix string, rows int) []string {
	var out []string
	for i := range rows {
		p := fmt.Sprintf("%s%d_", prefix, i)
		out = append(out, p+"name", p+"targets", p+"port")
	}
	return out
}

func (c *Console) createService(w http.ResponseWriter, r *http.Request, s *session) {
	form := r.PostForm
	in := published.CreatePublishedServiceInput{Name: strings.TrimSpace(form.Get("name")), VpcID: form.Get("vpc_id"), SubnetIDs: form["subnet_ids"]}
	errs := formErrors{}
	if in.Name == "" {
		errs["name"] = "Give the service a name: lowercase letters, digits and hyphens (for example my-kafka)."
	}
	if in.VpcID == "" {
		errs["vpc_id"] = "Choose the VPC the service's targets run in (create one on the VPCs page first if there is none)."
	}
	rows, _ := strconv.Atoi(form.Get("rows"))
	rows = max(min(rows, 50), newComponentRows)
	for i := range rows {
		comp, ok, rowErrs := componentRow(form, fmt.Sprintf("comp_%d_", i))
		for k, v := range rowErrs {
			errs[k] = v
		}
		if ok {
			in.Components = append(in.Components, comp)
		}
	}
	if len(in.Components) == 0 && len(errs) == 0 {
		errs["comp_0_name"] = "Add at least one component: a name, its port and its targets."
	}
	if len(errs) > 0 {
		c.showNewService(w, r, s, http.StatusBadRequest, errs, form)
		return
	}
	svc, err := c.ctl.CreatePublishedService(r.Context(), s.Account, in)
	if err != nil {
		c.refused(w, r, s, c.showNewService, err, append([]string{"name", "vpc_id", "subnet_ids"}, componentFields("comp_", rows)...), "")
		return
	}
	c.redirect(w, r, s, c.path("services/"+svc.Name), "Service "+svc.Name+" created. Publish it on its PrivateLink tab.")
}

type serviceView struct {
	Service model.PublishedService
	Tab     string
	Route   string
	Info    *published.ConnectionInfo
	// Verification is the private DNS name's TXT record and state (PrivateLink tab).
	Verification *model.DNSVerify
	Connections  []published.PrivateLinkConnection
	Live         int // connections pendingAcceptance, pending or available
	Command      string
}

func (c *Console) servicePage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showService(w, r, s, http.StatusOK, nil, url.Values{})
}

// showService renders a service's Overview tab: components with their targets,
// the PrivateLink access toggles and the connection information of one route.
func (c *Console) showService(w http.ResponseWriter, r *http.Request, s *session, status int, errs formErrors, form url.Values) {
	ctx := r.Context()
	svc, err := c.ctl.PublishedService(ctx, s.Account, r.PathValue("name"))
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	route := r.URL.Query().Get("route")
	if route != published.RouteDirect {
		route = published.RoutePrivateLink
	}
	info, err := c.ctl.PublishedConnectionInfo(ctx, s.Account, svc.Name, route)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.render(w, r, status, "service", s, view{Title: svc.Name, Nav: "services", Errors: errs, Form: form,
		Data: serviceView{Service: svc, Tab: "overview", Route: route, Info: &info}})
}

func (c *Console) updateComponent(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	comp := r.PostForm.Get("component")
	prefix := "edit_" + comp + "_"
	port, err := strconv.ParseUint(strings.TrimSpace(r.PostForm.Get(prefix+"port")), 10, 16)
	if err != nil || port == 0 {
		c.showService(w, r, s, http.StatusBadRequest, formErrors{prefix + "port": "Enter a TCP port from 1 to 65535."}, r.PostForm)
		return
	}
	p := int32(port)
	targets := splitList(r.PostForm.Get(prefix + "targets"))
	_, err = c.ctl.UpdatePublishedService(r.Context(), s.Account, name, published.UpdatePublishedServiceInput{
		Components: map[string]published.ComponentUpdate{comp: {Port: &p, Targets: &targets}}})
	if err != nil {
		c.refused(w, r, s, c.showService, err, []string{prefix + "targets"}, prefix+"targets")
		return
	}
	c.redirect(w, r, s, c.path("services/"+name), "Component "+comp+" saved.")
}

func (c *Console) addComponent(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	comp, ok, errs := componentRow(r.PostForm, "add_")
	if !ok {
		errs = formErrors{"add_name": "Give the new component a name, a port and its targets."}
	}
	if len(errs) > 0 {
		c.showService(w, r, s, http.StatusBadRequest, errs, r.PostForm)
		return
	}
	_, err := c.ctl.UpdatePublishedService(r.Context(), s.Account, name, published.UpdatePublishedServiceInput{AddComponents: []model.Component{comp}})
	if err != nil {
		c.refused(w, r, s, c.showService, err, []string{"add_name", "add_targets", "add_port"}, "add_name")
		return
	}
	c.redirect(w, r, s, c.path("services/"+name), "Component "+comp.Name+" added.")
}

func (c *Console) removeComponent(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	comp := r.PostForm.Get("component")
	_, err := c.ctl.UpdatePublishedService(r.Context(), s.Account, name, published.UpdatePublishedServiceInput{RemoveComponents: []string{comp}})
	if err != nil {
		c.refused(w, r, s, c.showService, err, nil, "edit_"+comp+"_targets")
		return
	}
	c.redirect(w, r, s, c.path("services/"+name), "Component "+comp+" removed.")
}

// updateAccess saves the Advanced configuration: PrivateLink access on or off
// for every component (a checkbox each; unchecked boxes are not sent).
func (c *Console) updateAccess(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	svc, err := c.ctl.PublishedService(r.Context(), s.Account, name)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	in := published.UpdatePublishedServiceInput{Components: map[string]published.ComponentUpdate{}}
	var on []string
	for _, comp := range svc.Components {
		access := slices.Contains(r.PostForm["access"], comp.Name)
		if access {
			on = append(on, comp.Name)
		}
		in.Components[comp.Name] = published.ComponentUpdate{PrivateLinkAccess: &access}
	}
	if _, err := c.ctl.UpdatePublishedService(r.Context(), s.Account, name, in); err != nil {
		c.refused(w, r, s, c.showService, err, nil, "access")
		return
	}
	msg := "Advanced configuration saved: no component has PrivateLink access."
	if len(on) > 0 {
		msg = "Advanced configuration saved: PrivateLink access for " + strings.Join(on, ", ") + ". New listeners take a few seconds; targets must pass two health checks before they get connections."
	}
	c.redirect(w, r, s, c.path("services/"+name), msg)
}

func (c *Console) deleteServicePage(w http.ResponseWriter, r *http.Request, s *session) {
	svc, err := c.ctl.PublishedService(r.Context(), s.Account, r.PathValue("name"))
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "confirm", s, view{Title: "Delete " + svc.Name, Nav: "services", Data: confirmView{
		Question: "Delete the published service " + svc.Name + "?",
		Detail:   "Its components and targets are forgotten. A service with a PrivateLink resource cannot be deleted: delete that first on the PrivateLink tab.",
		Action:   c.path("services/" + svc.Name + "/delete"), Cancel: c.path("services/" + svc.Name), Button: "Delete service"}})
}

func (c *Console) deleteService(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	if err := c.ctl.DeletePublishedService(r.Context(), s.Account, name); err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.redirect(w, r, s, c.path("services"), "Service "+name+" deleted.")
}

// confirmView is a confirmation page: the question, what it does, and the form
// that does it.
type confirmView struct {
	Question string
	Detail   string
	Action   string
	Cancel   string
	Button   string
	// Force offers a checkbox "force" with this label.
	Force string
}
