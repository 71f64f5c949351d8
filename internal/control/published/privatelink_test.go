package published

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/control/endpoints"
	"strait/internal/model"
)

// published creates the provider's service "orders" in a VPC 10.0.0.0/16 with
// subnets in us-east-1a and us-east-1b: mysql (3306, PrivateLink access) and
// admin (8080, no access).
func (f fixture) published(t *testing.T) (model.PublishedService, []model.Subnet) {
	t.Helper()
	v, subnets := f.VPC(t, provider, "10.0.0.0/16", "us-east-1a", "us-east-1b")
	return controltest.Must(f.pub.CreatePublishedService(context.Background(), provider, CreatePublishedServiceInput{Name: "orders", VpcID: v.ID,
		Components: []model.Component{
			{Name: "mysql", Port: 3306, Targets: []string{"10.0.1.10"}, PrivateLinkAccess: true},
			{Name: "admin", Port: 8080, Targets: []string{"10.0.1.11"}},
		}}))(t), subnets
}

// realize does the reconciler's part for the service's PrivateLink resource: an
// NLB in its subnets and an endpoint service with its principals, recorded on
// the resource, which becomes active.
func (f fixture) realize(t *testing.T, svc model.PublishedService, subnets []model.Subnet) model.EndpointService {
	t.Helper()
	ctx := context.Background()
	cur := controltest.Must(f.pub.PublishedService(ctx, provider, svc.Name))(t)
	lb := f.NLB(t, provider, "orders", subnets)
	accept := cur.PrivateLink.AcceptanceRequired
	es := controltest.Must(f.pl.CreateEndpointService(ctx, provider, endpoints.CreateServiceInput{NLBARNs: []string{lb.ARN}, AcceptanceRequired: &accept}))(t)
	controltest.Must(f.pl.ModifyServicePermissions(ctx, provider, es.ID, cur.PrivateLink.Principals, nil))(t)
	found, err := f.pub.RecordPrivateLink(ctx, provider, svc.Name, cur.PrivateLink.Created, func(pl *model.PrivateLink) {
		pl.LoadBalancerARN, pl.ServiceID, pl.ServiceName, pl.State = lb.ARN, es.ID, es.Name, model.PrivateLinkActive
	})
	if err != nil || !found {
		t.Fatalf("recording the realized resource: found %v, %v", found, err)
	}
	return es
}

// A PrivateLink resource is created once per service, with checked and
// de-duplicated principals; updating its principals replaces them as a whole.
// While it exists the service cannot be deleted; once deleted and cleared by the
// reconciler it can.
func TestPrivateLinkResource(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	svc, _ := f.published(t)
	a, b := "arn:aws:iam::"+consumer+":root", "arn:aws:iam::333333333333:role/reader"
	for _, bad := range []struct {
		what   string
		in     CreatePrivateLinkInput
		err    error
		reason model.Reason
	}{
		{"no principal", CreatePrivateLinkInput{}, model.ErrMissing, ""},
		{"a bad principal", CreatePrivateLinkInput{Principals: []string{a, "root"}}, model.ErrInvalid, model.ReasonPrincipal},
		{"a bad DNS name", CreatePrivateLinkInput{Principals: []string{a}, PrivateDNSName: "-db.example.com"}, model.ErrInvalid, model.ReasonParameter},
	} {
		_, err := f.pub.CreatePrivateLink(ctx, provider, "orders", bad.in)
		controltest.WantError(t, bad.what, err, bad.err, "", bad.reason)
	}
	_, err := f.pub.CreatePrivateLink(ctx, consumer, "orders", CreatePrivateLinkInput{Principals: []string{a}})
	controltest.WantError(t, "another account's service", err, model.ErrNotFound, model.KindPublished, model.ReasonPublishedServiceNotFound)

	got, err := f.pub.CreatePrivateLink(ctx, provider, "orders", CreatePrivateLinkInput{Principals: []string{a, b, a}, AcceptanceRequired: true, PrivateDNSName: "Orders.Example.com"})
	if err != nil {
		t.Fatal(err)
	}
	want := &model.PrivateLink{State: model.PrivateLinkCreating, Principals: []string{a, b}, AcceptanceRequired: true, PrivateDNSName: "orders.example.com", Created: testNow}
	if !reflect.DeepEqual(got.PrivateLink, want) {
		t.Fatalf("PrivateLink %+v, want %+v", got.PrivateLink, want)
	}
	_, err = f.pub.CreatePrivateLink(ctx, provider, "orders", CreatePrivateLinkInput{Principals: []string{a}})
	controltest.WantError(t, "a second PrivateLink resource", err, model.ErrDuplicate, "", model.ReasonPrivateLinkExists)
	err = f.pub.DeletePublishedService(ctx, provider, svc.Name)
	controltest.WantError(t, "deleting the service with its resource", err, model.ErrInUse, model.KindPublished, "")

	only := []string{b}
	got = controltest.Must(f.pub.UpdatePrivateLink(ctx, provider, "orders", UpdatePrivateLinkInput{Principals: &only}))(t)
	if !reflect.DeepEqual(got.PrivateLink.Principals, []string{b}) || got.PrivateLink.PrivateDNSName != "orders.example.com" {
		t.Fatalf("after replacing the principals with [b]: %+v", got.PrivateLink)
	}
	none, noName := []string{}, ""
	got = controltest.Must(f.pub.UpdatePrivateLink(ctx, provider, "orders", UpdatePrivateLinkInput{Principals: &none, PrivateDNSName: &noName}))(t)
	if got.PrivateLink.Principals == nil || len(got.PrivateLink.Principals) != 0 || got.PrivateLink.PrivateDNSName != "" {
		t.Fatalf("after replacing the principals with none: %+v", got.PrivateLink)
	}
	_, err = f.pub.UpdatePrivateLink(ctx, provider, "orders", UpdatePrivateLinkInput{})
	controltest.WantError(t, "an update of nothing", err, model.ErrMissing, "", "")
	bad := []string{"nobody"}
	_, err = f.pub.UpdatePrivateLink(ctx, provider, "orders", UpdatePrivateLinkInput{Principals: &bad})
	controltest.WantError(t, "a bad principal", err, model.ErrInvalid, "", model.ReasonPrincipal)

	// Until the reconciler made its endpoint service, nothing about connections
	// can be done.
	_, err = f.pub.VerifyPrivateLinkDNS(ctx, provider, "orders")
	controltest.WantError(t, "verifying without a name", err, model.ErrInvalid, "", model.ReasonParameter)
	name := "orders.example.com"
	controltest.Must(f.pub.UpdatePrivateLink(ctx, provider, "orders", UpdatePrivateLinkInput{PrivateDNSName: &name}))(t)
	_, err = f.pub.VerifyPrivateLinkDNS(ctx, provider, "orders")
	controltest.WantError(t, "verifying while creating", err, model.ErrIncorrectState, model.KindPublished, "")
	_, err = f.pub.AcceptPrivateLinkConnections(ctx, provider, "orders", []string{"vpce-0123456789abcdef0"})
	controltest.WantError(t, "accepting while creating", err, model.ErrIncorrectState, model.KindPublished, "")
	if conns, err := f.pub.PrivateLinkConnections(ctx, provider, "orders"); err != nil || conns == nil || len(conns) != 0 {
		t.Fatalf("connections while creating: %+v (%v), want an empty list", conns, err)
	}

	deleting := controltest.Must(f.pub.DeletePrivateLink(ctx, provider, "orders", false))(t)
	if pl := deleting.PrivateLink; !pl.Deleting || pl.Force || pl.State != model.PrivateLinkDeleting {
		t.Fatalf("after DeletePrivateLink: %+v", pl)
	}
	_, err = f.pub.UpdatePrivateLink(ctx, provider, "orders", UpdatePrivateLinkInput{Principals: &only})
	controltest.WantError(t, "updating a deleting resource", err, model.ErrIncorrectState, model.KindPublished, "")
	// A resource created at another time is not this one: the reconciler's
	// record of a stale resource changes nothing.
	if found, err := f.pub.RecordPrivateLink(ctx, provider, "orders", testNow.Add(1), func(pl *model.PrivateLink) { pl.State = model.PrivateLinkFailed }); found || err != nil {
		t.Fatalf("recording a stale resource: found %v, %v", found, err)
	}
	if err := f.pub.ClearPrivateLink(ctx, provider, "orders", testNow); err != nil {
		t.Fatal(err)
	}
	_, err = f.pub.DeletePrivateLink(ctx, provider, "orders", false)
	controltest.WantError(t, "deleting a cleared resource", err, model.ErrNotFound, model.KindPublished, model.ReasonNoPrivateLink)
	_, err = f.pub.PrivateLinkConnections(ctx, provider, "orders")
	controltest.WantError(t, "connections without a resource", err, model.ErrNotFound, model.KindPublished, model.ReasonNoPrivateLink)
	if err := f.pub.DeletePublishedService(ctx, provider, "orders"); err != nil {
		t.Fatalf("deleting the service once its resource is gone: %v", err)
	}
}

// Connection information: the direct route lists the targets; the PrivateLink
// route lists, for each component with access, the connected endpoints (pending
// or available, not those waiting for acceptance). Deleting the resource with
// live connections needs force, which rejects them.
func TestConnectionInfoAndConnections(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	svc, subnets := f.published(t)
	direct := controltest.Must(f.pub.PublishedConnectionInfo(ctx, provider, "orders", RouteDirect))(t)
	wantDirect := []ConnectionEntry{
		{Component: "mysql", Host: "10.0.1.10", Port: 3306, Command: "mysql -h 10.0.1.10 -P 3306 -u USER -p"},
		{Component: "admin", Host: "10.0.1.11", Port: 8080},
	}
	if !reflect.DeepEqual(direct.Entries, wantDirect) || !strings.Contains(direct.Note, svc.VpcID) {
		t.Fatalf("direct route %+v", direct)
	}
	_, err := f.pub.PublishedConnectionInfo(ctx, provider, "orders", "vpn")
	controltest.WantError(t, "an unknown route", err, model.ErrInvalid, "", "")
	info := controltest.Must(f.pub.PublishedConnectionInfo(ctx, provider, "orders", ""))(t)
	if info.Route != RoutePrivateLink || len(info.Entries) != 0 || !strings.Contains(info.Note, "privatelink create") {
		t.Fatalf("PrivateLink route without a resource: %+v", info)
	}
	controltest.Must(f.pub.CreatePrivateLink(ctx, provider, "orders", CreatePrivateLinkInput{Principals: []string{"arn:aws:iam::" + consumer + ":root"}, AcceptanceRequired: true}))(t)
	if info := controltest.Must(f.pub.PublishedConnectionInfo(ctx, provider, "orders", ""))(t); info.ServiceName != "" || !strings.Contains(info.Note, "creating") {
		t.Fatalf("PrivateLink route while creating: %+v", info)
	}
	es := f.realize(t, svc, subnets)

	vpc, csubnets := f.VPC(t, consumer, "10.5.0.0/16", "us-east-1a")
	ep := controltest.Must(f.pl.CreateEndpoint(ctx, consumer, endpoints.CreateEndpointInput{Type: "Interface", VpcID: vpc.ID, ServiceName: es.Name, SubnetIDs: []string{csubnets[0].ID}}))(t)
	info = controltest.Must(f.pub.PublishedConnectionInfo(ctx, provider, "orders", ""))(t)
	if info.ServiceName != es.Name || len(info.Entries) != 0 || !strings.Contains(info.Note, "No endpoint is connected yet") {
		t.Fatalf("with a connection waiting for acceptance: %+v", info)
	}
	conns := controltest.Must(f.pub.PrivateLinkConnections(ctx, provider, "orders"))(t)
	if len(conns) != 1 || conns[0].EndpointID != ep.ID || conns[0].Owner != consumer || conns[0].State != model.EndpointPendingAcceptance ||
		!strings.HasPrefix(conns[0].DNSName, ep.ID+"-") || conns[0].Traffic != nil {
		t.Fatalf("connections %+v", conns)
	}
	if failed, err := f.pub.AcceptPrivateLinkConnections(ctx, provider, "orders", []string{ep.ID}); err != nil || len(failed) != 0 {
		t.Fatalf("accepting: %+v %v", failed, err)
	}
	info = controltest.Must(f.pub.PublishedConnectionInfo(ctx, provider, "orders", ""))(t)
	wantPL := []ConnectionEntry{{Component: "mysql", EndpointID: ep.ID, Host: conns[0].DNSName, Port: 3306, Command: "mysql -h " + conns[0].DNSName + " -P 3306 -u USER -p"}}
	if !reflect.DeepEqual(info.Entries, wantPL) || info.Note != "" {
		t.Fatalf("with an accepted connection: %+v, want entries %+v", info, wantPL)
	}

	_, err = f.pub.DeletePrivateLink(ctx, provider, "orders", false)
	de := controltest.WantError(t, "deleting with a live connection", err, model.ErrInUse, "", model.ReasonLiveConnections)
	if !strings.Contains(de.Msg, ep.ID) {
		t.Fatalf("the refusal does not name %s: %s", ep.ID, de.Msg)
	}
	got := controltest.Must(f.pub.DeletePrivateLink(ctx, provider, "orders", true))(t)
	if !got.PrivateLink.Deleting || !got.PrivateLink.Force {
		t.Fatalf("after a forced deletion: %+v", got.PrivateLink)
	}
	if conns := controltest.Must(f.pub.PrivateLinkConnections(ctx, provider, "orders"))(t); len(conns) != 1 || conns[0].State != model.EndpointRejected {
		t.Fatalf("the forced deletion left the connection %+v, want it rejected", conns)
	}
	if failed, err := f.pub.RejectPrivateLinkConnections(ctx, provider, "orders", []string{ep.ID}); err != nil || len(failed) != 0 {
		t.Fatalf("rejecting the rejected connection again: %+v %v", failed, err)
	}
	// Asking again for the same deletion changes nothing.
	if again := controltest.Must(f.pub.DeletePrivateLink(ctx, provider, "orders", false))(t); !again.PrivateLink.Force {
		t.Fatalf("a second, unforced deletion dropped the force: %+v", again.PrivateLink)
	}
}

// ClientCommand knows the usual clients.
func TestClientCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ component, want string }{
		{"postgresql", `psql "host=h port=5 user=USER dbname=DB"`},
		{"kafka", "kafka-console-producer --bootstrap-server h:5 --topic TOPIC"},
		{"valkey", "redis-cli -h h -p 5"},
		{"web", ""},
	} {
		if got := ClientCommand(tc.component, "h", 5); got != tc.want {
			t.Errorf("ClientCommand(%s) = %q, want %q", tc.component, got, tc.want)
		}
	}
}

// VerifyPrivateLinkDNS verifies the resource's name on its endpoint service once
// the reconciler has put it there; a resolver that does not answer fails the
// verification, and the service says why.
func TestVerifyPrivateLinkDNS(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.pl.SetResolver("127.0.0.1:1") // loopback, nothing listens: the query is refused at once
	svc, subnets := f.published(t)
	controltest.Must(f.pub.CreatePrivateLink(ctx, provider, "orders", CreatePrivateLinkInput{Principals: []string{"*"}, PrivateDNSName: "orders.example.com"}))(t)
	es := f.realize(t, svc, subnets)
	_, err := f.pub.VerifyPrivateLinkDNS(ctx, provider, "orders")
	controltest.WantError(t, "verifying before the name is on the service", err, model.ErrIncorrectState, model.KindPublished, "")
	if err := f.pl.ModifyEndpointService(ctx, provider, es.ID, endpoints.ModifyServiceInput{PrivateDNSName: "orders.example.com"}); err != nil {
		t.Fatal(err)
	}
	got, err := f.pub.VerifyPrivateLinkDNS(ctx, provider, "orders")
	if err != nil {
		t.Fatal(err)
	}
	v := got.DNSVerification
	if got.ID != es.ID || v == nil || v.State != model.DNSFailed || !strings.Contains(v.Detail, v.Name+".orders.example.com") || !strings.Contains(v.Detail, "127.0.0.1:1") {
		t.Fatalf("verification %+v", v)
	}
	info := controltest.Must(f.pub.PublishedConnectionInfo(ctx, provider, "orders", ""))(t)
	if info.PrivateDNSName != "" {
		t.Fatalf("an unverified name is offered: %+v", info)
	}
}

// The messages that reach the CLI name the PrivateLink resource in words, not
// by the Go type that holds its operations.
func TestPrivateLinkMessages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.published(t)
	var msgs []string
	collect := func(err error) {
		t.Helper()
		var de *model.Error
		if !errors.As(err, &de) {
			t.Fatalf("got %v, want a domain error", err)
		}
		msgs = append(msgs, de.Msg)
	}
	_, err := f.pub.DeletePrivateLink(ctx, provider, "orders", false)
	collect(err)
	msgs = append(msgs, controltest.Must(f.pub.PublishedConnectionInfo(ctx, provider, "orders", ""))(t).Note)
	controltest.Must(f.pub.CreatePrivateLink(ctx, provider, "orders", CreatePrivateLinkInput{Principals: []string{"*"}}))(t)
	msgs = append(msgs, controltest.Must(f.pub.PublishedConnectionInfo(ctx, provider, "orders", ""))(t).Note)
	_, err = f.pub.CreatePrivateLink(ctx, provider, "orders", CreatePrivateLinkInput{Principals: []string{"*"}})
	collect(err)
	collect(f.pub.DeletePublishedService(ctx, provider, "orders"))
	_, err = f.pub.VerifyPrivateLinkDNS(ctx, provider, "orders")
	collect(err)
	_, err = f.pub.AcceptPrivateLinkConnections(ctx, provider, "orders", nil)
	collect(err)
	controltest.Must(f.pub.DeletePrivateLink(ctx, provider, "orders", false))(t)
	name := "a.example.com"
	_, err = f.pub.UpdatePrivateLink(ctx, provider, "orders", UpdatePrivateLinkInput{PrivateDNSName: &name})
	collect(err)
	for _, m := range msgs {
		if !strings.Contains(m, "PrivateLink resource") || strings.Contains(m, "endpoints.") {
			t.Errorf("message %q: want it to speak of the PrivateLink resource, without Go names", m)
		}
	}
}
