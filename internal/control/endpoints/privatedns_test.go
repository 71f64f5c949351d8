package endpoints_test

import (
	"context"
	"strings"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/control/core"
	"strait/internal/control/elb/elbtest"
	"strait/internal/control/endpoints"
	"strait/internal/control/network"
	"strait/internal/control/network/nettest"
	"strait/internal/model"
	"strait/internal/testenv"
)

// A private DNS name is verified by its TXT record, queried at the configured
// resolver (a DNS server on loopback here). Once it is verified, an endpoint
// with private DNS holds the name in its VPC: a second such endpoint in the VPC
// is refused (the domain is taken), one without private DNS is not, and the name
// is free again once the holder is deleted.
func TestPrivateDNSName(t *testing.T) {
	t.Parallel()
	const provider, consumer = "111111111111", "222222222222"
	dns := testenv.StartDNS(t)
	s := elbtest.New(t, core.Config{Resolver: dns.Addr})
	pl := endpoints.New(s.Base, s.Net, s.ELB)
	ctx := context.Background()
	_, psubnets := s.VPC(t, provider, "10.0.0.0/16", "us-east-1a")
	no := false
	svc := controltest.Must(pl.CreateEndpointService(ctx, provider, endpoints.CreateServiceInput{
		NLBARNs: []string{s.NLB(t, provider, "db", psubnets).ARN}, PrivateDNSName: "db.example.com", AcceptanceRequired: &no}))(t)
	controltest.Must(pl.ModifyServicePermissions(ctx, provider, svc.ID, []string{"*"}, nil))(t)
	challenge := *svc.DNSVerification
	record := challenge.Name + ".db.example.com"

	// A wrong value fails, and the detail says what was expected and found.
	dns.SetTXT(record, "vpce:wrong")
	if err := pl.StartPrivateDNSVerification(ctx, provider, svc.ID); err != nil {
		t.Fatal(err)
	}
	v := controltest.Must(pl.EndpointService(ctx, provider, svc.ID))(t).DNSVerification
	if v.State != model.DNSFailed || !strings.Contains(v.Detail, challenge.Value) || !strings.Contains(v.Detail, "vpce:wrong") {
		t.Fatalf("verification with a wrong value: %+v", v)
	}
	dns.SetTXT(record, "other", challenge.Value)
	if err := pl.StartPrivateDNSVerification(ctx, provider, svc.ID); err != nil {
		t.Fatal(err)
	}
	svc = controltest.Must(pl.EndpointService(ctx, provider, svc.ID))(t)
	if svc.DNSVerification.State != model.DNSVerified || endpoints.ServiceVerifiedName(svc) != "db.example.com" {
		t.Fatalf("verification with the right value: %+v", svc.DNSVerification)
	}

	vpc, subnets := nettest.VPC(t, s.Net, consumer, "10.5.0.0/16", "us-east-1a")
	in := endpoints.CreateEndpointInput{Type: "Interface", VpcID: vpc.ID, ServiceName: svc.Name, SubnetIDs: []string{subnets[0].ID}}
	_, err := pl.CreateEndpoint(ctx, consumer, in)
	controltest.WantError(t, "private DNS in a VPC without DNS host names", err, model.ErrInvalid, "", model.ReasonParameter)
	yes := true
	if err := s.Net.ModifyVpcAttribute(ctx, consumer, vpc.ID, network.VpcAttributes{EnableDNSHostnames: &yes}); err != nil {
		t.Fatal(err)
	}
	first := controltest.Must(pl.CreateEndpoint(ctx, consumer, in))(t)
	if !first.PrivateDNSEnabled || first.PrivateDNSName != "db.example.com" {
		t.Fatalf("the first endpoint: private DNS %v, name %q", first.PrivateDNSEnabled, first.PrivateDNSName)
	}
	d := controltest.Must(pl.EndpointDetail(ctx, first))(t)
	if last := d.DNSEntries[len(d.DNSEntries)-1]; last.Name != "db.example.com" || !strings.HasPrefix(last.HostedZoneID, "Z") {
		t.Fatalf("the first endpoint's DNS entries %+v", d.DNSEntries)
	}
	_, err = pl.CreateEndpoint(ctx, consumer, in)
	de := controltest.WantError(t, "a second endpoint with private DNS", err, model.ErrConflict, "", model.ReasonDomainTaken)
	if !strings.Contains(de.Msg, first.ID) {
		t.Fatalf("the conflict does not name the holder %s: %s", first.ID, de.Msg)
	}
	in.PrivateDNSEnabled = &no
	second := controltest.Must(pl.CreateEndpoint(ctx, consumer, in))(t)
	err = pl.ModifyEndpoint(ctx, consumer, second.ID, endpoints.ModifyEndpointInput{PrivateDNSEnabled: &yes})
	controltest.WantError(t, "turning private DNS on while the name is held", err, model.ErrConflict, "", model.ReasonDomainTaken)
	if failed, err := pl.DeleteEndpoints(ctx, consumer, []string{first.ID}); err != nil || len(failed) != 0 {
		t.Fatalf("deleting the holder: %+v %v", failed, err)
	}
	if err := pl.ModifyEndpoint(ctx, consumer, second.ID, endpoints.ModifyEndpointInput{PrivateDNSEnabled: &yes}); err != nil {
		t.Fatalf("taking the freed name: %v", err)
	}
	eps := controltest.Must(pl.DescribeEndpoints(ctx, consumer, []string{second.ID}, nil))(t)
	if len(eps) != 1 || !eps[0].PrivateDNSEnabled || eps[0].PrivateDNSName != "db.example.com" {
		t.Fatalf("the second endpoint after taking the name: %+v", eps)
	}
	// Another VPC has its own names.
	other, osubnets := nettest.VPC(t, s.Net, consumer, "10.6.0.0/16", "us-east-1a")
	if err := s.Net.ModifyVpcAttribute(ctx, consumer, other.ID, network.VpcAttributes{EnableDNSHostnames: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, err := pl.CreateEndpoint(ctx, consumer, endpoints.CreateEndpointInput{Type: "Interface", VpcID: other.ID, ServiceName: svc.Name, SubnetIDs: []string{osubnets[0].ID}}); err != nil {
		t.Fatalf("the name in another VPC: %v", err)
	}
}
