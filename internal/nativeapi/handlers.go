package nativeapi

import (
	"context"
	"net/http"

	"strait/internal/control/core"
	"strait/internal/control/published"
	"strait/internal/model"
)

func (a *API) listServices(ctx context.Context, acct string, _ *http.Request, _ []byte) (int, any, error) {
	svcs, err := a.ctl.PublishedServices(ctx, acct)
	if err != nil {
		return 0, nil, err
	}
	out := ServiceList{Services: []Service{}}
	for _, s := range svcs {
		out.Services = append(out.Services, serviceView(s))
	}
	return http.StatusOK, out, nil
}

func (a *API) createService(ctx context.Context, acct string, _ *http.Request, body []byte) (int, any, error) {
	var req CreateServiceRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	in := published.CreatePublishedServiceInput{Name: req.Name, VpcID: req.VpcID, SubnetIDs: req.SubnetIDs}
	for _, c := range req.Components {
		in.Components = append(in.Components, componentModel(c))
	}
	svc, err := a.ctl.CreatePublishedService(ctx, acct, in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, serviceView(svc), nil
}

func (a *API) getService(ctx context.Context, acct string, r *http.Request, _ []byte) (int, any, error) {
	svc, err := a.ctl.PublishedService(ctx, acct, r.PathValue("name"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, serviceView(svc), nil
}

func (a *API) updateService(ctx context.Context, acct string, r *http.Request, body []byte) (int, any, error) {
	var req UpdateServiceRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	in := published.UpdatePublishedServiceInput{RemoveComponents: req.RemoveComponents, Components: map[string]published.ComponentUpdate{}}
	for _, c := range req.AddComponents {
		in.AddComponents = append(in.AddComponents, componentModel(c))
	}
	for name, u := range req.Components {
		in.Components[name] = published.ComponentUpdate{Port: u.Port, Targets: u.Targets, PrivateLinkAccess: u.PrivateLinkAccess}
	}
	svc, err := a.ctl.UpdatePublishedService(ctx, acct, r.PathValue("name"), in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, serviceView(svc), nil
}

func (a *API) deleteService(ctx context.Context, acct string, r *http.Request, _ []byte) (int, any, error) {
	if err := a.ctl.DeletePublishedService(ctx, acct, r.PathValue("name")); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct{}{}, nil
}

func (a *API) connectionInfo(ctx context.Context, acct string, r *http.Request, _ []byte) (int, any, error) {
	info, err := a.ctl.PublishedConnectionInfo(ctx, acct, r.PathValue("name"), r.URL.Query().Get("route"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, infoView(info), nil
}

func (a *API) createPrivateLink(ctx context.Context, acct string, r *http.Request, body []byte) (int, any, error) {
	var req CreatePrivateLinkRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	svc, err := a.ctl.CreatePrivateLink(ctx, acct, r.PathValue("name"), published.CreatePrivateLinkInput{
		Principals: req.Principals, AcceptanceRequired: req.AcceptanceRequired, PrivateDNSName: req.PrivateDNSName})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, a.privateLinkView(ctx, acct, svc), nil
}

func (a *API) getPrivateLink(ctx context.Context, acct string, r *http.Request, _ []byte) (int, any, error) {
	name := r.PathValue("name")
	svc, err := a.ctl.PublishedService(ctx, acct, name)
	if err != nil {
		return 0, nil, err
	}
	if svc.PrivateLink == nil {
		return 0, nil, &model.Error{Err: model.ErrNotFound, Kind: model.KindPublished, ID: name, Reason: model.ReasonNoPrivateLink,
			Msg: "The service '" + name + "' has no PrivateLink resource: create one with `strait privatelink create --principal ARN " + name + "`"}
	}
	return http.StatusOK, a.privateLinkView(ctx, acct, svc), nil
}

func (a *API) updatePrivateLink(ctx context.Context, acct string, r *http.Request, body []byte) (int, any, error) {
	var req UpdatePrivateLinkRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	if req.Principals == nil && req.PrivateDNSName == nil {
		return 0, nil, &apiError{Status: http.StatusBadRequest, Code: "MissingParameter",
			Message: `Nothing to change: give "principals" (it replaces the whole list; [] allows nobody) or "private_dns_name" ("" removes it)`}
	}
	svc, err := a.ctl.UpdatePrivateLink(ctx, acct, r.PathValue("name"), published.UpdatePrivateLinkInput{Principals: req.Principals, PrivateDNSName: req.PrivateDNSName})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a.privateLinkView(ctx, acct, svc), nil
}

func (a *API) verifyPrivateLinkDNS(ctx context.Context, acct string, r *http.Request, _ []byte) (int, any, error) {
	name := r.PathValue("name")
	if _, err := a.ctl.VerifyPrivateLinkDNS(ctx, acct, name); err != nil {
		return 0, nil, err
	}
	svc, err := a.ctl.PublishedService(ctx, acct, name)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a.privateLinkView(ctx, acct, svc), nil
}

// privateLinkView is the service's PrivateLink resource with the verification
// state of its private DNS name, read from its endpoint service.
func (a *API) privateLinkView(ctx context.Context, acct string, svc model.PublishedService) *PrivateLink {
	pl := serviceView(svc).PrivateLink
	if pl == nil || svc.PrivateLink.ServiceID == "" || pl.PrivateDNSName == "" {
		return pl
	}
	es, err := a.ctl.EndpointService(ctx, acct, svc.PrivateLink.ServiceID)
	if err != nil || es.PrivateDNSName != pl.PrivateDNSName || es.DNSVerification == nil {
		return pl // not on the endpoint service yet: the next reconcile pass puts it there
	}
	v := es.DNSVerification
	pl.PrivateDNSVerification = &DNSVerification{State: v.State, Type: v.Type, Name: v.Name, Value: v.Value, Detail: v.Detail}
	return pl
}

func (a *API) deletePrivateLink(ctx context.Context, acct string, r *http.Request, _ []byte) (int, any, error) {
	force := false
	switch v := r.URL.Query().Get("force"); v {
	case "", "false":
	case "true":
		force = true
	default:
		return 0, nil, &apiError{Status: http.StatusBadRequest, Code: "InvalidParameterValue", Message: "force must be true or false, not " + v}
	}
	svc, err := a.ctl.DeletePrivateLink(ctx, acct, r.PathValue("name"), force)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, a.privateLinkView(ctx, acct, svc), nil
}

func (a *API) listConnections(ctx context.Context, acct string, r *http.Request, _ []byte) (int, any, error) {
	conns, err := a.ctl.PrivateLinkConnections(ctx, acct, r.PathValue("name"))
	if err != nil {
		return 0, nil, err
	}
	out := ConnectionList{Connections: []Connection{}}
	for _, c := range conns {
		out.Connections = append(out.Connections, connectionView(c))
	}
	return http.StatusOK, out, nil
}

func (a *API) acceptConnections(ctx context.Context, acct string, r *http.Request, body []byte) (int, any, error) {
	return a.decide(ctx, acct, r, body, a.ctl.AcceptPrivateLinkConnections)
}

func (a *API) rejectConnections(ctx context.Context, acct string, r *http.Request, body []byte) (int, any, error) {
	return a.decide(ctx, acct, r, body, a.ctl.RejectPrivateLinkConnections)
}

func (a *API) decide(ctx context.Context, acct string, r *http.Request, body []byte,
	op func(context.Context, string, string, []string) ([]core.ItemError, error)) (int, any, error) {
	var req ConnectionsRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	if len(req.EndpointIDs) == 0 {
		return 0, nil, &apiError{Status: http.StatusBadRequest, Code: "MissingParameter", Message: `"endpoint_ids" needs at least one VPC endpoint ID (vpce-…)`}
	}
	failed, err := op(ctx, acct, r.PathValue("name"), req.EndpointIDs)
	if err != nil {
		return 0, nil, err
	}
	out := ConnectionsResult{Failed: []FailedItem{}}
	for _, f := range failed {
		ae := translate(f.Err)
		out.Failed = append(out.Failed, FailedItem{EndpointID: f.ID, Code: ae.Code, Message: ae.Message})
	}
	return http.StatusOK, out, nil
}
