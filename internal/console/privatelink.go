package console

import (
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
	ctx := r.Context()
	svc, err := c.ctl.PublishedService(ctx, s.Account, r.PathValue("name"))
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	v := serviceView{Service: svc, Tab: "privatelink"}
	if pl := svc.PrivateLink; pl != nil {
		if pl.ServiceName != "" {
			v.Command = consumerCommand(c.ctl.Region(), pl.ServiceName)
		}
		if pl.ServiceID != "" {
			if es, err := c.ctl.EndpointService(ctx, s.Account, pl.ServiceID); err == nil && es.PrivateDNSName == pl.PrivateDNSName {
				v.Verification = es.DNSVerification
			}
			conns, err := c.ctl.PrivateLinkConnections(ctx, s.Account, svc.Name)
			if err != nil {
				c.failed(w, r, s, err)
				return
			}
			v.Connections = conns
			v.Live = liveCount(conns)
		}
	}
	c.render(w, r, status, "privatelink", s, view{Title: svc.Name + " · PrivateLink", Nav: "services", Errors: errs, Form: form, Data: v})
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

func (c *Console) plFailed(w http.ResponseWriter, r *http.Request, s *session, err error, fields []string, fallback string) {
	fe, err := fieldErrors(err, r.PostForm, fields, fallback)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.showPrivateLink(w, r, s, http.StatusBadRequest, fe, r.PostForm)
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
		c.plFailed(w, r, s, err, []string{"principals", "private_dns_name"}, "principals")
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
		fe, err := fieldErrors(err, r.PostForm, []string{"principals"}, "principals")
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		c.showPrincipals(w, r, s, http.StatusBadRequest, fe, r.PostForm)
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
		c.plFailed(w, r, s, err, []string{"private_dns_name"}, "private_dns_name")
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
		c.plFailed(w, r, s, err, nil, "verify")
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
	ctx := r.Context()
	svc, err := c.ctl.PublishedService(ctx, s.Account, r.PathValue("name"))
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	if svc.PrivateLink == nil {
		c.redirect(w, r, s, c.path("services/"+svc.Name+"/privatelink"), "")
		return
	}
	cv := confirmView{
		Question: "Delete the PrivateLink resource of " + svc.Name + "?",
		Detail:   "This deletes its load balancer, target groups, listeners and endpoint service. Consumers' endpoints stop carrying traffic.",
		Action:   c.path("services/" + svc.Name + "/privatelink/delete"), Cancel: c.path("services/" + svc.Name + "/privatelink"), Button: "Confirm",
	}
	if svc.PrivateLink.ServiceID != "" {
		conns, err := c.ctl.PrivateLinkConnections(ctx, s.Account, svc.Name)
		if err != nil {
			c.failed(w, r, s, err)
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
	if _, err := c.ctl.DeletePrivateLink(r.Context(), s.Account, name, r.PostForm.Get("force") == "on"); err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.redirect(w, r, s, c.path("services/"+name+"/privatelink"), "The PrivateLink resource is being deleted with everything it created.")
}

func (c *Console) connectionsPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showConnections(w, r, s, http.StatusOK, nil, url.Values{})
}

func (c *Console) showConnections(w http.ResponseWriter, r *http.Request, s *session, status int, errs formErrors, form url.Values) {
	ctx := r.Context()
	svc, err := c.ctl.PublishedService(ctx, s.Account, r.PathValue("name"))
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	v := serviceView{Service: svc, Tab: "connections"}
	if svc.PrivateLink != nil {
		conns, err := c.ctl.PrivateLinkConnections(ctx, s.Account, svc.Name)
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		v.Connections = conns
	}
	c.render(w, r, status, "connections", s, view{Title: svc.Name + " · Connections", Nav: "services", Errors: errs, Form: form, Data: v})
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
		fe, err := fieldErrors(err, r.PostForm, []string{"endpoint_ids"}, "endpoint_ids")
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		c.showConnections(w, r, s, http.StatusBadRequest, fe, r.PostForm)
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
