package endpoints

import (
	"context"
	"slices"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/model"
)

// An endpoint service publishes the provider's NLB: it starts Pending in the
// zones of the NLB's nodes, requires acceptance by default, and holds the NLB so
// that no other service can take it and it cannot be deleted.
func TestCreateEndpointService(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	svc := f.service(t, CreateServiceInput{Tags: model.Tags{"team": "db"}, ClientToken: "tok"})
	if svc.State != model.ServicePending || !svc.AcceptanceRequired || !slices.Equal(svc.AZs, []string{"us-east-1a", "us-east-1b"}) ||
		svc.Name != "com.amazonaws.vpce.us-east-1."+svc.ID || !model.ValidID(model.PrefixService, svc.ID) ||
		!slices.Equal(svc.SupportedIPAddressTypes, []string{"ipv4"}) || svc.Tags["team"] != "db" || svc.PrivateDNSName != "" || svc.DNSVerification != nil {
		t.Fatalf("service %+v", svc)
	}
	if got := f.pl.ServiceBaseDNSName(svc); got != svc.ID+".us-east-1.vpce.amazonaws.com" {
		t.Fatalf("base DNS name %q", got)
	}
	lbARN := svc.NLBARNs[0]
	if id := controltest.Must(f.ELB.LoadBalancerService(ctx, lbARN))(t); id != svc.ID {
		t.Fatalf("the NLB is published by %q, want %s", id, svc.ID)
	}
	err := f.ELB.DeleteLoadBalancer(ctx, provider, lbARN)
	controltest.WantError(t, "deleting the published NLB", err, model.ErrInUse, model.KindLoadBalancer, "")

	again := controltest.Must(f.pl.CreateEndpointService(ctx, provider, CreateServiceInput{NLBARNs: []string{lbARN}, Tags: model.Tags{"team": "db"}, ClientToken: "tok"}))(t)
	if again.ID != svc.ID {
		t.Fatalf("the client token again gave %s, want %s", again.ID, svc.ID)
	}
	_, err = f.pl.CreateEndpointService(ctx, provider, CreateServiceInput{NLBARNs: []string{lbARN}, ClientToken: "tok"})
	controltest.WantError(t, "the client token with other parameters", err, model.ErrConflict, "", model.ReasonTokenMismatch)
	_, err = f.pl.CreateEndpointService(ctx, provider, CreateServiceInput{NLBARNs: []string{lbARN}})
	controltest.WantError(t, "a second service on the NLB", err, model.ErrInvalid, "", model.ReasonParameter)
	no := false
	for _, bad := range []struct {
		what string
		acct string
		in   CreateServiceInput
	}{
		{"no NLB", provider, CreateServiceInput{}},
		{"a gateway load balancer", provider, CreateServiceInput{GWLBARNs: []string{lbARN}}},
		{"another account's NLB", consumer, CreateServiceInput{NLBARNs: []string{lbARN}}},
		{"a malformed ARN", provider, CreateServiceInput{NLBARNs: []string{"arn:aws:ec2:lb"}}},
		{"ipv6", provider, CreateServiceInput{NLBARNs: []string{lbARN}, SupportedIPAddressTypes: []string{"ipv6"}}},
		{"another region", provider, CreateServiceInput{NLBARNs: []string{lbARN}, SupportedRegions: []string{"eu-west-1"}}},
		{"a bad private DNS name", provider, CreateServiceInput{NLBARNs: []string{lbARN}, PrivateDNSName: "db..example.com", AcceptanceRequired: &no}},
	} {
		_, err := f.pl.CreateEndpointService(ctx, bad.acct, bad.in)
		controltest.WantError(t, bad.what, err, model.ErrInvalid, "", model.ReasonParameter)
	}
	if all := controltest.Must(f.pl.EndpointServices(ctx, provider))(t); len(all) != 1 {
		t.Fatalf("refused requests left %d services", len(all))
	}
	_, err = f.pl.EndpointService(ctx, consumer, svc.ID)
	controltest.WantError(t, "another account's service", err, model.ErrNotFound, model.KindService, "")
}

// A private DNS name is lower-cased and gets a TXT challenge pending verification.
func TestCreateEndpointServicePrivateDNSName(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	svc := f.service(t, CreateServiceInput{PrivateDNSName: "*.DB.Example.com."})
	v := svc.DNSVerification
	if svc.PrivateDNSName != "*.db.example.com" || v == nil || v.State != model.DNSPendingVerification || v.Type != "TXT" ||
		len(v.Name) != 21 || v.Name[0] != '_' || len(v.Value) != 25 || v.Value[:5] != "vpce:" || !v.Since.Equal(testNow) {
		t.Fatalf("service %+v, verification %+v", svc, v)
	}
	if ServiceVerifiedName(svc) != "" {
		t.Fatal("an unverified name counts as verified")
	}
}

// Allowed principals decide who sees a service and may connect to it: an
// account root, user or role ARN admits its account, "*" admits everyone, a
// service principal admits no account. The owner always sees its service.
func TestServicePermissions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	svc := f.service(t, CreateServiceInput{})
	consumerVpc, subnets := f.consumerVPC(t, consumer)
	visible := func(acct string) bool {
		_, err := f.pl.ServiceByName(ctx, acct, svc.Name)
		if err != nil {
			controltest.WantError(t, "ServiceByName", err, model.ErrNotFound, "", model.ReasonServiceName)
		}
		return err == nil
	}
	if !visible(provider) || visible(consumer) {
		t.Fatal("before any permission the owner must see the service, the consumer must not")
	}
	_, err := f.pl.CreateEndpoint(ctx, consumer, CreateEndpointInput{Type: "Interface", VpcID: consumerVpc.ID, ServiceName: svc.Name, SubnetIDs: []string{subnets[0].ID}})
	controltest.WantError(t, "an endpoint to a service that does not admit the consumer", err, model.ErrNotFound, "", model.ReasonServiceName)

	root := "arn:aws:iam::" + consumer + ":root"
	added, err := f.pl.ModifyServicePermissions(ctx, provider, svc.ID, []string{root, root, "ec2.amazonaws.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 2 || added[0].Principal != root || added[0].Type != model.PrincipalAccount || !model.ValidID(model.PrefixPermission, added[0].ID) ||
		added[1].Type != model.PrincipalService || !added[0].Created.Equal(testNow) {
		t.Fatalf("added permissions %+v", added)
	}
	if !visible(consumer) || visible(stranger) {
		t.Fatal("the consumer's root must admit the consumer only")
	}
	again := controltest.Must(f.pl.ModifyServicePermissions(ctx, provider, svc.ID, []string{root}, nil))(t)
	if len(again) != 1 || again[0].ID != added[0].ID {
		t.Fatalf("adding the principal again gave %+v, want its permission %s", again, added[0].ID)
	}
	for _, bad := range []string{"arn:aws:iam::12345:root", "222222222222", "arn:aws:iam::222222222222:group/admins", "*.amazonaws.com"} {
		_, err := f.pl.ModifyServicePermissions(ctx, provider, svc.ID, []string{bad}, nil)
		de := controltest.WantError(t, "principal "+bad, err, model.ErrInvalid, model.KindPermission, model.ReasonPrincipal)
		if de.ID != bad {
			t.Fatalf("the error names %q", de.ID)
		}
	}
	_, err = f.pl.ModifyServicePermissions(ctx, consumer, svc.ID, []string{"*"}, nil)
	controltest.WantError(t, "the consumer changing the permissions", err, model.ErrNotFound, model.KindService, "")

	controltest.Must(f.pl.ModifyServicePermissions(ctx, provider, svc.ID, nil, []string{root, "arn:aws:iam::444444444444:root"}))(t)
	if visible(consumer) {
		t.Fatal("the consumer still sees the service after its principal was removed")
	}
	f.admit(t, svc, "arn:aws:iam::"+consumer+":user/app")
	if !visible(consumer) || visible(stranger) {
		t.Fatal("a user ARN must admit its account only")
	}
	f.admit(t, svc, "*")
	if !visible(stranger) {
		t.Fatal("* must admit every account")
	}
	names := func(acct string) []string {
		var out []string
		for _, s := range controltest.Must(f.pl.VisibleServices(ctx, acct))(t) {
			out = append(out, s.ID)
		}
		return out
	}
	if got := names(stranger); !slices.Equal(got, []string{svc.ID}) {
		t.Fatalf("the stranger sees %v", got)
	}
	cur := controltest.Must(f.pl.EndpointService(ctx, provider, svc.ID))(t)
	if len(cur.Principals) != 3 {
		t.Fatalf("principals %+v, want the service principal, the user and *", cur.Principals)
	}
}

// With RejectRemovedPrincipals, removing a principal rejects the live
// connections of the accounts it admitted; without it they stay, as in AWS.
func TestRejectRemovedPrincipals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	svc := f.service(t, CreateServiceInput{})
	root := "arn:aws:iam::" + consumer + ":root"
	f.admit(t, svc, root)
	vpc, subnets := f.consumerVPC(t, consumer)
	a := f.endpoint(t, consumer, vpc, svc, subnets[0])
	controltest.Must(f.pl.ModifyServicePermissions(ctx, provider, svc.ID, nil, []string{root}))(t)
	if got := controltest.Must(f.pl.ownEndpoint(ctx, consumer, a.ID))(t); got.State != model.EndpointPendingAcceptance {
		t.Fatalf("without RejectRemovedPrincipals the endpoint went %s", got.State)
	}
	yes := true
	if err := f.pl.ModifyEndpointService(ctx, provider, svc.ID, ModifyServiceInput{RejectRemovedPrincipals: &yes}); err != nil {
		t.Fatal(err)
	}
	f.admit(t, svc, root)
	controltest.Must(f.pl.ModifyServicePermissions(ctx, provider, svc.ID, nil, []string{root}))(t)
	if got := controltest.Must(f.pl.ownEndpoint(ctx, consumer, a.ID))(t); got.State != model.EndpointRejected {
		t.Fatalf("with RejectRemovedPrincipals the endpoint is %s, want rejected", got.State)
	}
}

// A service with a connection that is pendingAcceptance, pending or available is
// not deleted; once the consumer deleted its endpoint, it is, freeing its NLB and
// taking its notifications along.
func TestDeleteEndpointServiceWithLiveConnections(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	svc := f.service(t, CreateServiceInput{})
	f.admit(t, svc, "arn:aws:iam::"+consumer+":root")
	n := controltest.Must(f.pl.CreateConnectionNotification(ctx, provider, CreateNotificationInput{ServiceID: svc.ID,
		ARN: "arn:aws:sns:us-east-1:" + provider + ":events", Events: []string{model.EventConnect}}))(t)
	vpc, subnets := f.consumerVPC(t, consumer)
	ep := f.endpoint(t, consumer, vpc, svc, subnets[0])
	failed, err := f.pl.DeleteEndpointServices(ctx, provider, []string{svc.ID})
	itemError(t, "deleting a service with a pendingAcceptance connection", failed, err, svc.ID, model.ErrInUse, "", model.ReasonLiveConnections)
	noItemErrors(t, "accepting", controltest.Must(f.pl.AcceptEndpointConnections(ctx, provider, svc.ID, []string{ep.ID}))(t), nil)
	failed, err = f.pl.DeleteEndpointServices(ctx, provider, []string{svc.ID})
	itemError(t, "deleting a service with a pending connection", failed, err, svc.ID, model.ErrInUse, "", model.ReasonLiveConnections)
	failed, err = f.pl.DeleteEndpointServices(ctx, stranger, []string{svc.ID})
	itemError(t, "another account deleting the service", failed, err, svc.ID, model.ErrNotFound, model.KindService, "")
	noItemErrors(t, "deleting the endpoint", controltest.Must(f.pl.DeleteEndpoints(ctx, consumer, []string{ep.ID}))(t), nil)
	failed, err = f.pl.DeleteEndpointServices(ctx, provider, []string{svc.ID, "vpce-svc-0123456789abcdef0"})
	itemError(t, "deleting the service and an unknown one", failed, err, "vpce-svc-0123456789abcdef0", model.ErrNotFound, model.KindService, "")
	_, err = f.pl.EndpointService(ctx, provider, svc.ID)
	controltest.WantError(t, "the deleted service", err, model.ErrNotFound, model.KindService, "")
	if id := controltest.Must(f.ELB.LoadBalancerService(ctx, svc.NLBARNs[0]))(t); id != "" {
		t.Fatalf("the NLB is still published by %q", id)
	}
	if ns := controltest.Must(f.pl.ConnectionNotifications(ctx, provider))(t); len(ns) != 0 {
		t.Fatalf("the service's notification %s is left: %+v", n.ID, ns)
	}
	if err := f.ELB.DeleteLoadBalancer(ctx, provider, svc.NLBARNs[0]); err != nil {
		t.Fatalf("deleting the freed NLB: %v", err)
	}
}

// ModifyEndpointService changes acceptance, the private DNS name and the NLBs; a
// service keeps at least one NLB and one IP address type.
func TestModifyEndpointService(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	svc := f.service(t, CreateServiceInput{})
	_, subnets := f.VPC(t, provider, "10.1.0.0/16", "us-east-1c")
	lb2 := f.NLB(t, provider, "second", subnets)
	no := false
	err := f.pl.ModifyEndpointService(ctx, provider, svc.ID, ModifyServiceInput{AcceptanceRequired: &no, PrivateDNSName: "api.example.com", AddNLBARNs: []string{lb2.ARN}})
	if err != nil {
		t.Fatal(err)
	}
	got := controltest.Must(f.pl.EndpointService(ctx, provider, svc.ID))(t)
	if got.AcceptanceRequired || got.PrivateDNSName != "api.example.com" || got.DNSVerification == nil || len(got.NLBARNs) != 2 ||
		!slices.Equal(got.AZs, []string{"us-east-1a", "us-east-1b", "us-east-1c"}) {
		t.Fatalf("modified service %+v", got)
	}
	if id := controltest.Must(f.ELB.LoadBalancerService(ctx, lb2.ARN))(t); id != svc.ID {
		t.Fatalf("the added NLB is published by %q", id)
	}
	if err := f.pl.ModifyEndpointService(ctx, provider, svc.ID, ModifyServiceInput{RemoveNLBARNs: []string{svc.NLBARNs[0]}, RemovePrivateDNSName: true}); err != nil {
		t.Fatal(err)
	}
	got = controltest.Must(f.pl.EndpointService(ctx, provider, svc.ID))(t)
	if got.PrivateDNSName != "" || got.DNSVerification != nil || !slices.Equal(got.NLBARNs, []string{lb2.ARN}) || !slices.Equal(got.AZs, []string{"us-east-1c"}) {
		t.Fatalf("after removing the first NLB and the name: %+v", got)
	}
	if id := controltest.Must(f.ELB.LoadBalancerService(ctx, svc.NLBARNs[0]))(t); id != "" {
		t.Fatalf("the removed NLB is still published by %q", id)
	}
	err = f.pl.StartPrivateDNSVerification(ctx, provider, svc.ID)
	controltest.WantError(t, "verifying a service without a name", err, model.ErrInvalid, "", model.ReasonParameter)
	for _, bad := range []struct {
		what   string
		in     ModifyServiceInput
		reason model.Reason
	}{
		{"removing the last NLB", ModifyServiceInput{RemoveNLBARNs: []string{lb2.ARN}}, model.ReasonParameter},
		{"removing an NLB it does not have", ModifyServiceInput{RemoveNLBARNs: []string{svc.NLBARNs[0]}}, model.ReasonParameter},
		{"a name and its removal", ModifyServiceInput{PrivateDNSName: "a.example.com", RemovePrivateDNSName: true}, model.ReasonParameterCombination},
		{"removing the last IP address type", ModifyServiceInput{RemoveIPAddressTypes: []string{"ipv4"}}, model.ReasonParameter},
		{"a gateway load balancer", ModifyServiceInput{AddGWLBARNs: []string{lb2.ARN}}, model.ReasonParameter},
		{"a region", ModifyServiceInput{AddRegions: []string{"us-east-2"}}, model.ReasonParameter},
	} {
		err := f.pl.ModifyEndpointService(ctx, provider, svc.ID, bad.in)
		controltest.WantError(t, bad.what, err, model.ErrInvalid, "", bad.reason)
	}
	if got := controltest.Must(f.pl.EndpointService(ctx, provider, svc.ID))(t); !slices.Equal(got.NLBARNs, []string{lb2.ARN}) {
		t.Fatalf("refused changes changed the NLBs: %v", got.NLBARNs)
	}
}
