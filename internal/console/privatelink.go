package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"strait/internal/control/published"
	"strait/internal/model"
)

// consumerCommand is the AWS CLI command a consumer runs to connect to a service.
func consumerCommand(region, serviceName string) string {
	return "aws ec2 create-vpc-endpoint --region " + region + " --vpc-endpoint-type Interface --vpc-id VPC_ID --subnet-ids SUBNET_ID… --security-group-ids SG_ID --service-name " + serviceName
}

func (c *Console) privateLinkPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showPrivateLink(w, r, s, http.StatusOK, nil, url.Values{})
}

// showPrivateLink renders a service's PrivateLink tab: the create form, or the
// resource's state, service name, consumer command, principals and private DNS
// name with its TXT record.
func (c *Console) showPrivateLink(w http.ResponseWriter, r *http.Request, s *session, status int, errs formErrors, form url.Values) {
	svc, err := c.ctl.PublishedService(r.Context(), s.Account, r.PathValue("name"))
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.showPrivateLinkOf(w, r, s, svc, status, errs, form)
}

// showPrivateLinkOf renders the PrivateLink tab of svc as just read.
func (c *Console) showPrivateLinkOf(w http.ResponseWriter, r *http.Request, s *session, svc model.PublishedService, status int, errs formErrors, form url.Values) {
	c.showTab(w, r, s, svc, "privatelink", "PrivateLink", c.privateLinkView, status, errs, form)
}

// showTab renders one tab (page, titled title) of svc as just read; build reads
// what else the tab shows.
func (c *Console) showTab(w http.ResponseWriter, r *http.Request, s *session, svc model.PublishedService, page, title string,
	build func(context.Context, string, model.PublishedService) (serviceView, error), status int, errs formErrors, form url.Values) {
	v, err := build(r.Context(), s.Account, svc)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.render(w, r, status, page, s, view{Title: svc.Name + " · " + title, Nav: "services", Errors: errs, Form: form, Data: v})
}

// privateLinkView is the PrivateLink tab of svc as just read. A resource that
// is gone by the time its connections are read was deleted meanwhile (a
// deletion finishing between the two reads): the tab shows it gone, the
// deletion done, as the next read would.
func (c *Console) privateLinkView(ctx context.Context, acct string, svc model.PublishedService) (serviceView, error) {
	v := serviceView{Service: svc, Tab: "privatelink"}
	pl := svc.PrivateLink
	if pl == nil {
		return v, nil
	}
	if pl.ServiceName != "" {
		v.Command = consumerCommand(c.ctl.Region(), pl.ServiceName)
	}
	if pl.ServiceID == "" {
		return v, nil
	}
	conns, gone, err := c.privateLinkConnections(ctx, acct, svc.Name)
	if err != nil {
		return v, err
	}
	if gone {
		svc.PrivateLink = nil
		return serviceView{Service: svc, Tab: "privatelink"}, nil
	}
	v.Connections, v.Live = conns, liveCount(conns)
	if es, err := c.ctl.EndpointService(ctx, acct, pl.ServiceID); err == nil && es.PrivateDNSName == pl.PrivateDNSName {
		v.Verification = es.DNSVerification
	}
	return v, nil
}

// privateLinkConnections lists the connections of a service's PrivateLink
// resource; gone reports that the resource no longer exists (deleted since the
// service was read), which the pages show as the deletion done, not an error.
func (c *Console) privateLinkConnections(ctx context.Context, acct, name string) (conns []published.PrivateLinkConnection, gone bool, err error) {
	conns, err = c.ctl.PrivateLinkConnections(ctx, acct, name)
	if noPrivateLink(err) {
		return nil, true, nil
	}
	return conns, false, err
}

// noPrivateLink reports whether err says the service has no PrivateLink resource.
func noPrivateLink(err error) bool {
	var de *model.Error
	return errors.As(err, &de) && de.Reason == model.ReasonNoPrivateLink
}

func liveCount(conns []published.PrivateLinkConnection) int {
	n := 0
	for _, pc := range conns {
		switch pc.State {
		case model.EndpointPendingAcceptance, model.EndpointPending, model.EndpointAvailable:
			n++
		}
	}
	return n
}

func (c *Console) createPrivateLink(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	principals := splitList(r.PostForm.Get("principals"))
	if len(principals) == 0 {
		c.showPrivateLink(w, r, s, http.StatusBadRequest, formErrors{"principals": "Enter at least one principal allowed to connect, for example arn:aws:iam::222222222222:root (one per line)."}, r.PostForm)
		return
	}
	_, err := c.ctl.CreatePrivateLink(r.Context(), s.Account, name, published.CreatePrivateLinkInput{
		Principals: principals, AcceptanceRequired: r.PostForm.Get("acceptance_required") == "on",
		PrivateDNSName: strings.TrimSpace(r.PostForm.Get("private_dns_name"))})
	if err != nil {
		c.refused(w, r, s, c.showPrivateLink, err, []string{"principals", "private_dns_name"}, "principals")
		return
	}
	c.redirect(w, r, s, c.path("services/"+name+"/privatelink"), "PrivateLink is being created: the load balancer and the endpoint service take a few seconds.")
}

func (c *Console) principalsPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showPrincipals(w, r, s, http.StatusOK, nil, nil)
}

func (c *Console) showPrincipals(w http.ResponseWriter, r *http.Request, s *session, status int, errs formErrors, form url.Values) {
	svc, err := c.ctl.PublishedService(r.Context(), s.Account, r.PathValue("name"))
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	if svc.PrivateLink == nil {
		c.redirect(w, r, s, c.path("services/"+svc.Name+"/privatelink"), "")
		return
	}
	if form == nil {
		form = url.Values{"principals": {strings.Join(svc.PrivateLink.Principals, "\n")}}
	}
	c.render(w, r, status, "principals", s, view{Title: "Edit principals · " + svc.Name, Nav: "services", Errors: errs, Form: form, Data: svc})
}

func (c *Console) updatePrincipals(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	ps := splitList(r.PostForm.Get("principals"))
	_, err := c.ctl.UpdatePrivateLink(r.Context(), s.Account, name, published.UpdatePrivateLinkInput{Principals: &ps})
	if err != nil {
		c.refused(w, r, s, c.showPrincipals, err, []string{"principals"}, "principals")
		return
	}
	msg := "Principals replaced: " + strings.Join(ps, ", ") + ". Existing connections stay up."
	if len(ps) == 0 {
		msg = "Principals replaced: nobody else may create endpoints now. Existing connections stay up."
	}
	c.redirect(w, r, s, c.path("services/"+name+"/privatelink"), msg)
}

func (c *Console) updatePrivateDNS(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	dnsName := strings.TrimSpace(r.PostForm.Get("private_dns_name"))
	_, err := c.ctl.UpdatePrivateLink(r.Context(), s.Account, name, published.UpdatePrivateLinkInput{PrivateDNSName: &dnsName})
	if err != nil {
		c.refused(w, r, s, c.showPrivateLink, err, []string{"private_dns_name"}, "private_dns_name")
		return
	}
	msg := "Private DNS name removed."
	if dnsName != "" {
		msg = "Private DNS name set to " + dnsName + ": publish the TXT record below in your DNS, then click Verify."
	}
	c.redirect(w, r, s, c.path("services/"+name+"/privatelink"), msg)
}

func (c *Console) verifyDNS(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	es, err := c.ctl.VerifyPrivateLinkDNS(r.Context(), s.Account, name)
	if err != nil {
		c.refused(w, r, s, c.showPrivateLink, err, nil, "verify")
		return
	}
	v := es.DNSVerification
	if v == nil || v.State != model.DNSVerified {
		detail := "the TXT record was not found"
		if v != nil && v.Detail != "" {
			detail = v.Detail
		}
		c.showPrivateLink(w, r, s, http.StatusOK, formErrors{"verify": "Not verified yet: " + detail + ". Publish the record in your DNS (it may take a while to appear) and click Verify again."}, r.PostForm)
		return
	}
	c.redirect(w, r, s, c.path("services/"+name+"/privatelink"), "Private DNS name "+es.PrivateDNSName+" verified: consumers' endpoints with private DNS enabled answer it.")
}

func (c *Console) deletePrivateLinkPage(w http.ResponseWriter, r *http.Request, s *session) {
	svc, err := c.ctl.PublishedService(r.Context(), s.Account, r.PathValue("name"))
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.confirmDeletePrivateLink(w, r, s, svc)
}

// confirmDeletePrivateLink asks to confirm the deletion of svc's PrivateLink
// resource (svc as just read), offering to force it while connections are live.
// A resource that is gone, also one deleted since svc was read, needs no
// confirmation: the PrivateLink tab shows it gone.
func (c *Console) confirmDeletePrivateLink(w http.ResponseWriter, r *http.Request, s *session, svc model.PublishedService) {
	tab := c.path("services/" + svc.Name + "/privatelink")
	if svc.PrivateLink == nil {
		c.redirect(w, r, s, tab, "")
		return
	}
	cv := confirmView{
		Question: "Delete the PrivateLink resource of " + svc.Name + "?",
		Detail:   "This deletes its load balancer, target groups, listeners and endpoint service. Consumers' endpoints stop carrying traffic.",
		Action:   c.path("services/" + svc.Name + "/privatelink/delete"), Cancel: tab, Button: "Confirm",
	}
	if svc.PrivateLink.ServiceID != "" {
		conns, gone, err := c.privateLinkConnections(r.Context(), s.Account, svc.Name)
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		if gone {
			c.redirect(w, r, s, tab, "")
			return
		}
		if n := liveCount(conns); n > 0 {
			cv.Force = fmt.Sprintf("Reject the %d live connection(s) first, then delete (without this the delete is refused while they are live)", n)
		}
	}
	c.render(w, r, http.StatusOK, "confirm", s, view{Title: "Delete PrivateLink · " + svc.Name, Nav: "services", Data: cv})
}

func (c *Console) deletePrivateLink(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	_, err := c.ctl.DeletePrivateLink(r.Context(), s.Account, name, r.PostForm.Get("force") == "on")
	if noPrivateLink(err) {
		// Already deleted (the form sent twice, or from another tab): done.
		c.redirect(w, r, s, c.path("services/"+name+"/privatelink"), "The PrivateLink resource of "+name+" is deleted.")
		return
	}
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.redirect(w, r, s, c.path("services/"+name+"/privatelink"), "The PrivateLink resource is being deleted with everything it created.")
}

func (c *Console) connectionsPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showConnections(w, r, s, http.StatusOK, nil, url.Values{})
}

func (c *Console) showConnections(w http.ResponseWriter, r *http.Request, s *session, status int, errs formErrors, form url.Values) {
	svc, err := c.ctl.PublishedService(r.Context(), s.Account, r.PathValue("name"))
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.showConnectionsOf(w, r, s, svc, status, errs, form)
}

// showConnectionsOf renders the Connections tab of svc as just read.
func (c *Console) showConnectionsOf(w http.ResponseWriter, r *http.Request, s *session, svc model.PublishedService, status int, errs formErrors, form url.Values) {
	c.showTab(w, r, s, svc, "connections", "Connections", c.connectionsView, status, errs, form)
}

// connectionsView is the Connections tab of svc as just read; a PrivateLink
// resource deleted before its connections are read is shown gone.
func (c *Console) connectionsView(ctx context.Context, acct string, svc model.PublishedService) (serviceView, error) {
	v := serviceView{Service: svc, Tab: "connections"}
	if svc.PrivateLink == nil {
		return v, nil
	}
	conns, gone, err := c.privateLinkConnections(ctx, acct, svc.Name)
	if err != nil {
		return v, err
	}
	if gone {
		v.Service.PrivateLink = nil
	}
	v.Connections = conns
	return v, nil
}

// decideConnections accepts or rejects the endpoints named in the form (one
// row's button, or IDs pasted into "endpoint_ids").
func (c *Console) decideConnections(w http.ResponseWriter, r *http.Request, s *session, accept bool) {
	name := r.PathValue("name")
	ids := splitList(r.PostForm.Get("endpoint_ids"))
	if len(ids) == 0 {
		c.showConnections(w, r, s, http.StatusBadRequest, formErrors{"endpoint_ids": "Paste the consumer's VPC endpoint ID (vpce-…); it is shown on their Endpoints page."}, r.PostForm)
		return
	}
	for _, id := range ids {
		if !model.ValidID(model.PrefixEndpoint, id) {
			c.showConnections(w, r, s, http.StatusBadRequest, formErrors{"endpoint_ids": "'" + id + "' is not a VPC endpoint ID: it looks like vpce- followed by 17 letters and digits."}, r.PostForm)
			return
		}
	}
	op, verb := c.ctl.RejectPrivateLinkConnections, "rejected"
	if accept {
		op, verb = c.ctl.AcceptPrivateLinkConnections, "accepted"
	}
	failed, err := op(r.Context(), s.Account, name, ids)
	if err != nil {
		c.refused(w, r, s, c.showConnections, err, []string{"endpoint_ids"}, "endpoint_ids")
		return
	}
	if len(failed) > 0 {
		var msgs []string
		for _, f := range failed {
			msgs = append(msgs, f.ID+": "+f.Err.Error())
		}
		c.showConnections(w, r, s, http.StatusBadRequest, formErrors{"endpoint_ids": strings.Join(msgs, "; ") +
			". Check the ID against the consumer's endpoint; only endpoints connected to this service and waiting for acceptance can be accepted."}, r.PostForm)
		return
	}
	c.redirect(w, r, s, c.path("services/"+name+"/connections"), "Connection "+strings.Join(ids, ", ")+" "+verb+".")
}

func (c *Console) acceptConnections(w http.ResponseWriter, r *http.Request, s *session) {
	c.decideConnections(w, r, s, true)
}

func (c *Console) rejectConnections(w http.ResponseWriter, r *http.Request, s *session) {
	c.decideConnections(w, r, s, false)
}
