package endpoints

import (
	"context"
	"slices"
	"strings"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/control/core"
	"strait/internal/model"
)

// An endpoint has one requester-managed interface in each of its subnets, at
// most one subnet per zone, in zones the service supports. It waits for
// acceptance when the service requires it; the owner's own endpoint does not.
func TestCreateEndpoint(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	svc := f.service(t, CreateServiceInput{})
	f.admit(t, svc, "arn:aws:iam::"+consumer+":root")
	vpc, subnets := f.consumerVPC(t, consumer)
	ep, err := f.pl.CreateEndpoint(ctx, consumer, CreateEndpointInput{Type: "Interface", VpcID: vpc.ID, ServiceName: svc.Name,
		SubnetIDs: []string{subnets[1].ID, subnets[0].ID}, Tags: model.Tags{"app": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	if ep.State != model.EndpointPendingAcceptance || ep.ServiceID != svc.ID || ep.ServiceOwner != provider || ep.VpcID != vpc.ID ||
		!slices.Equal(ep.SubnetIDs, []string{subnets[1].ID, subnets[0].ID}) || !slices.Equal(ep.AZs, []string{"us-east-1a", "us-east-1b"}) ||
		!slices.Equal(ep.SecurityGroups, []string{vpc.DefaultSecurityGroupID}) || ep.PrivateDNSEnabled || ep.PolicyDocument != DefaultEndpointPolicy ||
		!model.ValidID(model.PrefixConnection, ep.ConnectionID) || ep.DNSRecordIPType != DNSRecordIPv4 || ep.Tags["app"] != "web" {
		t.Fatalf("endpoint %+v", ep)
	}
	for i, id := range ep.ENIs {
		eni := controltest.Must(core.Get[model.NetworkInterface](ctx, f.Base.Store(), model.KindENI, id))(t)
		if eni.SubnetID != ep.SubnetIDs[i] || eni.InterfaceType != model.ENITypeEndpoint || !eni.RequesterManaged ||
			eni.RequesterID != model.ENIRequesterVPCE || eni.AttachedTo != ep.ID || eni.Owner != consumer ||
			!strings.HasPrefix(eni.PrivateIP, "10.5.") || !slices.Equal(eni.Groups, ep.SecurityGroups) {
			t.Fatalf("interface %d: %+v", i, eni)
		}
	}
	d := controltest.Must(f.pl.EndpointDetail(ctx, ep))(t)
	prefix := ep.ID + "-" + ep.DNSLabel
	suffix := "." + svc.ID + ".us-east-1.vpce.amazonaws.com"
	if len(d.DNSEntries) != 3 || d.DNSEntries[0].Name != prefix+suffix || d.DNSEntries[1].Name != prefix+"-us-east-1a"+suffix ||
		d.DNSEntries[2].Name != prefix+"-us-east-1b"+suffix || d.DNSEntries[0].HostedZoneID != EndpointHostedZoneID ||
		d.GroupNames[vpc.DefaultSecurityGroupID] != "default" || !slices.Equal(d.NLBARNs, svc.NLBARNs) {
		t.Fatalf("detail %+v", d)
	}
	// The provider sees the connection, the consumer its endpoint; neither the other's view.
	if conns := controltest.Must(f.pl.EndpointConnections(ctx, provider))(t); len(conns) != 1 || conns[0].ID != ep.ID {
		t.Fatalf("the provider's connections %+v", conns)
	}
	if eps := controltest.Must(f.pl.Endpoints(ctx, consumer))(t); len(eps) != 1 || eps[0].ID != ep.ID {
		t.Fatalf("the consumer's endpoints %+v", eps)
	}
	if eps := controltest.Must(f.pl.Endpoints(ctx, provider))(t); len(eps) != 0 {
		t.Fatalf("the provider lists the consumer's endpoint: %+v", eps)
	}
	if got := controltest.Must(f.pl.DescribeEndpoints(ctx, stranger, []string{ep.ID}, nil))(t); len(got) != 0 {
		t.Fatalf("a stranger describes %+v", got)
	}
	// The provider's own endpoint needs no acceptance.
	pvpc, psubnets := f.consumerVPC(t, provider)
	own := f.endpoint(t, provider, pvpc, svc, psubnets[0])
	if own.State != model.EndpointPending {
		t.Fatalf("the owner's endpoint is %s, want pending", own.State)
	}
}

// DescribeEndpoints gives the caller's endpoints with the IDs, one by one or in
// a pass over the records for many IDs, and lets the picker choose or fail.
func TestDescribeEndpoints(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	svc, vpc, subnets := f.open(t)
	a := f.endpoint(t, consumer, vpc, svc, subnets[0])
	b := f.endpoint(t, consumer, vpc, svc, subnets[1])
	many := []string{b.ID}
	for range maxEndpointLookups {
		many = append(many, model.NewID(model.PrefixEndpoint))
	}
	for what, ids := range map[string][]string{"by ID": {b.ID, "vpce-0123456789abcdef0", b.ID}, "by a pass": many} {
		got := controltest.Must(f.pl.DescribeEndpoints(ctx, consumer, ids, nil))(t)
		if len(got) != 1 || got[0].ID != b.ID {
			t.Fatalf("%s: %+v", what, got)
		}
		if got := controltest.Must(f.pl.DescribeEndpoints(ctx, stranger, ids, nil))(t); len(got) != 0 {
			t.Fatalf("%s: a stranger gets %+v", what, got)
		}
	}
	first := func(eps []*model.Endpoint) ([]*model.Endpoint, error) { return eps[:1], nil }
	want := min(a.ID, b.ID)
	if got := controltest.Must(f.pl.DescribeEndpoints(ctx, consumer, nil, first))(t); len(got) != 1 || got[0].ID != want {
		t.Fatalf("the first in ID order: %+v, want %s", got, want)
	}
	_, err := f.pl.DescribeConnections(ctx, provider, func([]*model.Endpoint) ([]*model.Endpoint, error) {
		return nil, model.Invalid("no")
	})
	controltest.WantError(t, "a failing picker", err, model.ErrInvalid, "", "")
}

// CreateEndpoint refuses what it cannot create, and a refused request leaves no
// interface behind.
func TestCreateEndpointRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	svc := f.service(t, CreateServiceInput{})
	f.admit(t, svc, "arn:aws:iam::"+consumer+":root")
	vpc, subnets := f.consumerVPC(t, consumer)
	other, otherSubnets := f.VPC(t, consumer, "10.6.0.0/16", "us-east-1a")
	yes := true
	for _, bad := range []struct {
		what   string
		change func(*CreateEndpointInput)
		err    error
		kind   string
		reason model.Reason
	}{
		{"two subnets in one zone", func(in *CreateEndpointInput) { in.SubnetIDs = []string{subnets[0].ID, subnets[2].ID} }, model.ErrInvalid, "", model.ReasonSubnetsInSameZone},
		{"a zone the service lacks", func(in *CreateEndpointInput) { in.SubnetIDs = []string{subnets[3].ID} }, model.ErrInvalid, "", model.ReasonParameter},
		{"a subnet of another VPC", func(in *CreateEndpointInput) { in.SubnetIDs = []string{otherSubnets[0].ID} }, model.ErrInvalid, "", model.ReasonParameter},
		{"no subnet", func(in *CreateEndpointInput) { in.SubnetIDs = nil }, model.ErrInvalid, "", model.ReasonParameter},
		{"a gateway endpoint", func(in *CreateEndpointInput) { in.Type = "" }, model.ErrInvalid, "", model.ReasonParameter},
		{"no service name", func(in *CreateEndpointInput) { in.ServiceName = "" }, model.ErrMissing, "", ""},
		{"an unknown service", func(in *CreateEndpointInput) {
			in.ServiceName = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
		}, model.ErrNotFound, "", model.ReasonServiceName},
		{"ipv6", func(in *CreateEndpointInput) { in.IPAddressType = "ipv6" }, model.ErrInvalid, "", model.ReasonParameter},
		{"a policy that is not JSON", func(in *CreateEndpointInput) { in.PolicyDocument = "{" }, model.ErrInvalid, "", model.ReasonParameter},
		{"private DNS without a verified name", func(in *CreateEndpointInput) { in.PrivateDNSEnabled = &yes }, model.ErrInvalid, "", model.ReasonParameter},
		{"a group of another VPC", func(in *CreateEndpointInput) { in.SecurityGroupIDs = []string{other.DefaultSecurityGroupID} }, model.ErrInvalid, model.KindSecurityGroup, model.ReasonParameter},
		{"another account's VPC", func(in *CreateEndpointInput) { in.VpcID = controltest.Must(f.Net.Vpcs(ctx, provider))(t)[0].ID }, model.ErrNotFound, model.KindVpc, ""},
	} {
		in := CreateEndpointInput{Type: "Interface", VpcID: vpc.ID, ServiceName: svc.Name, SubnetIDs: []string{subnets[0].ID}}
		bad.change(&in)
		_, err := f.pl.CreateEndpoint(ctx, consumer, in)
		controltest.WantError(t, bad.what, err, bad.err, bad.kind, bad.reason)
	}
	if eps := controltest.Must(f.pl.Endpoints(ctx, consumer))(t); len(eps) != 0 {
		t.Fatalf("refused requests left endpoints %+v", eps)
	}
	if enis := controltest.Must(f.Net.NetworkInterfaces(ctx, consumer))(t); len(enis) != 0 {
		t.Fatalf("refused requests left interfaces %+v", enis)
	}
	// A client token makes the request idempotent.
	in := CreateEndpointInput{Type: "Interface", VpcID: vpc.ID, ServiceName: svc.Name, SubnetIDs: []string{subnets[0].ID}, ClientToken: "once"}
	first := controltest.Must(f.pl.CreateEndpoint(ctx, consumer, in))(t)
	if again := controltest.Must(f.pl.CreateEndpoint(ctx, consumer, in))(t); again.ID != first.ID {
		t.Fatalf("the client token again created %s, want %s", again.ID, first.ID)
	}
	if enis := controltest.Must(f.Net.NetworkInterfaces(ctx, consumer))(t); len(enis) != 1 {
		t.Fatalf("%d interfaces after the repeat, want 1", len(enis))
	}
}

// The provider accepts a pendingAcceptance connection (it goes pending) or
// rejects it; each decision is for the service's own connections only.
func TestAcceptAndRejectConnections(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	svc, vpc, subnets := f.open(t)
	a := f.endpoint(t, consumer, vpc, svc, subnets[0])
	b := f.endpoint(t, consumer, vpc, svc, subnets[1])
	state := func(id string) model.Endpoint {
		return controltest.Must(f.pl.ownEndpoint(ctx, consumer, id))(t)
	}
	failed, err := f.pl.AcceptEndpointConnections(ctx, provider, svc.ID, []string{a.ID, "vpce-0123456789abcdef0", "vpce-nothex"})
	if err != nil || len(failed) != 2 {
		t.Fatalf("accepting: failed %+v, error %v", failed, err)
	}
	controltest.WantError(t, "an endpoint of no connection", failed[0].Err, model.ErrNotFound, model.KindEndpoint, model.ReasonEndpointNotFound)
	controltest.WantError(t, "a malformed endpoint ID", failed[1].Err, model.ErrInvalid, model.KindEndpoint, model.ReasonMalformedEndpointID)
	if got := state(a.ID); got.State != model.EndpointPending || !got.Accepted.Equal(testNow) {
		t.Fatalf("the accepted endpoint %+v", got)
	}
	failed, err = f.pl.AcceptEndpointConnections(ctx, provider, svc.ID, []string{a.ID})
	itemError(t, "accepting again", failed, err, a.ID, model.ErrIncorrectState, model.KindEndpoint, "")
	_, err = f.pl.AcceptEndpointConnections(ctx, consumer, svc.ID, []string{b.ID})
	controltest.WantError(t, "the consumer accepting", err, model.ErrNotFound, model.KindService, "")

	noItemErrors(t, "rejecting", controltest.Must(f.pl.RejectEndpointConnections(ctx, provider, svc.ID, []string{a.ID, b.ID}))(t), nil)
	if sa, sb := state(a.ID), state(b.ID); sa.State != model.EndpointRejected || sb.State != model.EndpointRejected || sb.StateMessage == "" {
		t.Fatalf("after rejecting: %s and %s (%q)", sa.State, sb.State, sb.StateMessage)
	}
	noItemErrors(t, "rejecting again", controltest.Must(f.pl.RejectEndpointConnections(ctx, provider, svc.ID, []string{a.ID}))(t), nil)
	failed, err = f.pl.AcceptEndpointConnections(ctx, provider, svc.ID, []string{b.ID})
	itemError(t, "accepting a rejected endpoint", failed, err, b.ID, model.ErrIncorrectState, model.KindEndpoint, "")
	// A deleting endpoint cannot be rejected.
	noItemErrors(t, "deleting", controltest.Must(f.pl.DeleteEndpoints(ctx, consumer, []string{b.ID}))(t), nil)
	failed, err = f.pl.RejectEndpointConnections(ctx, provider, svc.ID, []string{b.ID})
	itemError(t, "rejecting a deleting endpoint", failed, err, b.ID, model.ErrIncorrectState, model.KindEndpoint, "")
}

// Only its owner deletes an endpoint; deleting twice is fine.
func TestDeleteEndpoints(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	svc, vpc, subnets := f.open(t)
	ep := f.endpoint(t, consumer, vpc, svc, subnets[0])
	failed, err := f.pl.DeleteEndpoints(ctx, stranger, []string{ep.ID})
	itemError(t, "a stranger deleting", failed, err, ep.ID, model.ErrNotFound, model.KindEndpoint, model.ReasonEndpointGone)
	failed, err = f.pl.DeleteEndpoints(ctx, consumer, []string{"vpce-xyz"})
	itemError(t, "a malformed ID", failed, err, "vpce-xyz", model.ErrInvalid, model.KindEndpoint, model.ReasonMalformedEndpointID)
	noItemErrors(t, "deleting", controltest.Must(f.pl.DeleteEndpoints(ctx, consumer, []string{ep.ID, ep.ID}))(t), nil)
	if got := controltest.Must(f.pl.ownEndpoint(ctx, consumer, ep.ID))(t); got.State != model.EndpointDeleting {
		t.Fatalf("the deleted endpoint is %s", got.State)
	}
	noItemErrors(t, "deleting again", controltest.Must(f.pl.DeleteEndpoints(ctx, consumer, []string{ep.ID}))(t), nil)
	err = f.pl.ModifyEndpoint(ctx, consumer, ep.ID, ModifyEndpointInput{ResetPolicy: true})
	controltest.WantError(t, "modifying a deleting endpoint", err, model.ErrIncorrectState, model.KindEndpoint, "")
}

// ModifyEndpoint adds and removes subnets (with their interfaces) and groups, one
// subnet per zone, keeping at least one of each.
func TestModifyEndpoint(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	svc, vpc, subnets := f.open(t)
	ep := f.endpoint(t, consumer, vpc, svc, subnets[0])
	sg := controltest.Must(f.Net.CreateSecurityGroup(ctx, consumer, networkGroup(vpc.ID)))(t)
	err := f.pl.ModifyEndpoint(ctx, consumer, ep.ID, ModifyEndpointInput{AddSubnetIDs: []string{subnets[1].ID}, RemoveSubnetIDs: []string{subnets[0].ID},
		AddSecurityGroupIDs: []string{sg.ID}, RemoveSecurityGroupIDs: []string{vpc.DefaultSecurityGroupID}, PolicyDocument: `{"Statement":[]}`})
	if err != nil {
		t.Fatal(err)
	}
	got := controltest.Must(f.pl.ownEndpoint(ctx, consumer, ep.ID))(t)
	if !slices.Equal(got.SubnetIDs, []string{subnets[1].ID}) || !slices.Equal(got.AZs, []string{"us-east-1b"}) || len(got.ENIs) != 1 ||
		!slices.Equal(got.SecurityGroups, []string{sg.ID}) || got.PolicyDocument != `{"Statement":[]}` {
		t.Fatalf("modified endpoint %+v", got)
	}
	enis := controltest.Must(f.Net.NetworkInterfaces(ctx, consumer))(t)
	if len(enis) != 1 || enis[0].ID != got.ENIs[0] || enis[0].SubnetID != subnets[1].ID || !slices.Equal(enis[0].Groups, []string{sg.ID}) {
		t.Fatalf("interfaces after the change: %+v", enis)
	}
	if err := f.pl.ModifyEndpoint(ctx, consumer, ep.ID, ModifyEndpointInput{AddSubnetIDs: []string{subnets[0].ID}, ResetPolicy: true}); err != nil {
		t.Fatal(err)
	}
	if got := controltest.Must(f.pl.ownEndpoint(ctx, consumer, ep.ID))(t); got.PolicyDocument != DefaultEndpointPolicy || len(got.ENIs) != 2 {
		t.Fatalf("after adding a subnet and resetting the policy: %+v", got)
	}
	for _, bad := range []struct {
		what   string
		in     ModifyEndpointInput
		reason model.Reason
	}{
		{"a second subnet in us-east-1a", ModifyEndpointInput{AddSubnetIDs: []string{subnets[2].ID}}, model.ReasonSubnetsInSameZone},
		{"removing every subnet", ModifyEndpointInput{RemoveSubnetIDs: []string{subnets[0].ID, subnets[1].ID}}, model.ReasonParameter},
		{"removing a subnet it lacks", ModifyEndpointInput{RemoveSubnetIDs: []string{subnets[3].ID}}, model.ReasonParameter},
		{"removing the last group", ModifyEndpointInput{RemoveSecurityGroupIDs: []string{sg.ID}}, model.ReasonParameter},
		{"a policy and its reset", ModifyEndpointInput{PolicyDocument: "{}", ResetPolicy: true}, model.ReasonParameterCombination},
		{"DNS records ipv6", ModifyEndpointInput{DNSRecordIPType: "ipv6"}, model.ReasonParameter},
	} {
		err := f.pl.ModifyEndpoint(ctx, consumer, ep.ID, bad.in)
		controltest.WantError(t, bad.what, err, model.ErrInvalid, "", bad.reason)
	}
	if got := controltest.Must(f.pl.ownEndpoint(ctx, consumer, ep.ID))(t); len(got.SubnetIDs) != 2 || len(got.SecurityGroups) != 1 {
		t.Fatalf("refused changes changed the endpoint: %+v", got)
	}
	err = f.pl.ModifyEndpoint(ctx, stranger, ep.ID, ModifyEndpointInput{ResetPolicy: true})
	controltest.WantError(t, "a stranger modifying", err, model.ErrNotFound, model.KindEndpoint, "")
}
