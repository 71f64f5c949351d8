package awsapi_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"strait/internal/testenv"
)

// plDNSRecordIPType reads an endpoint's DnsOptions.DnsRecordIpType.
func plDNSRecordIPType(t *testing.T, env *testenv.Env, id string) ec2types.DnsRecordIpType {
	t.Helper()
	out, err := env.EC2(consumer).DescribeVpcEndpoints(testenv.Ctx(t), &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	return out.VpcEndpoints[0].DnsOptions.DnsRecordIpType
}

// TestPrivateLinkDNSRecordIPType stores DnsOptions.DnsRecordIpType on create and
// modify and echoes it; ipv6 and dualstack are refused for an ipv4-only service.
func TestPrivateLinkDNSRecordIPType(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	svc := plProvider(t, env, aws.Bool(false), "")
	plAllow(t, env, provider, *svc.ServiceId, "arn:aws:iam::"+consumer+":root")
	cn := plNetwork(t, env, consumer, "us-east-1a")
	c := env.EC2(consumer)
	create := func(typ ec2types.DnsRecordIpType) (*ec2.CreateVpcEndpointOutput, error) {
		return c.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{
			VpcEndpointType: ec2types.VpcEndpointTypeInterface, VpcId: aws.String(cn.vpc), ServiceName: svc.ServiceName,
			SubnetIds: []string{cn.subnets["us-east-1a"]}, DnsOptions: &ec2types.DnsOptionsSpecification{DnsRecordIpType: typ},
		})
	}
	out, err := create(ec2types.DnsRecordIpTypeServiceDefined)
	if err != nil {
		t.Fatal(err)
	}
	id := *out.VpcEndpoint.VpcEndpointId
	if got := out.VpcEndpoint.DnsOptions.DnsRecordIpType; got != ec2types.DnsRecordIpTypeServiceDefined {
		t.Errorf("CreateVpcEndpoint answered DnsRecordIpType %q, want service-defined", got)
	}
	if got := plDNSRecordIPType(t, env, id); got != ec2types.DnsRecordIpTypeServiceDefined {
		t.Errorf("DescribeVpcEndpoints: DnsRecordIpType %q, want service-defined", got)
	}
	for _, bad := range []ec2types.DnsRecordIpType{ec2types.DnsRecordIpTypeIpv6, ec2types.DnsRecordIpTypeDualstack} {
		_, err := create(bad)
		netWantCode(t, err, "InvalidParameter")
		_, err = c.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: aws.String(id), DnsOptions: &ec2types.DnsOptionsSpecification{DnsRecordIpType: bad}})
		netWantCode(t, err, "InvalidParameter")
	}
	if _, err := c.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: aws.String(id),
		DnsOptions: &ec2types.DnsOptionsSpecification{DnsRecordIpType: ec2types.DnsRecordIpTypeIpv4}}); err != nil {
		t.Fatal(err)
	}
	if got := plDNSRecordIPType(t, env, id); got != ec2types.DnsRecordIpTypeIpv4 {
		t.Errorf("after ModifyVpcEndpoint: DnsRecordIpType %q, want ipv4", got)
	}
	// A modification without DnsOptions leaves the type alone.
	if _, err := c.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: aws.String(id),
		DnsOptions: &ec2types.DnsOptionsSpecification{DnsRecordIpType: ec2types.DnsRecordIpTypeServiceDefined}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: aws.String(id), ResetPolicy: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if got := plDNSRecordIPType(t, env, id); got != ec2types.DnsRecordIpTypeServiceDefined {
		t.Errorf("after an unrelated ModifyVpcEndpoint: DnsRecordIpType %q, want service-defined", got)
	}
}

// TestPrivateLinkServiceDetailPrivateDNS shows a service's private DNS name to an
// allowed consumer before verification, with its verification state, while the
// consumer's endpoints get the name only once it is verified.
func TestPrivateLinkServiceDetailPrivateDNS(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	svc := plProvider(t, env, aws.Bool(false), "db.example.com")
	plAllow(t, env, provider, *svc.ServiceId, "arn:aws:iam::"+consumer+":root")
	out, err := env.EC2(consumer).DescribeVpcEndpointServices(ctx, &ec2.DescribeVpcEndpointServicesInput{ServiceNames: []string{*svc.ServiceName}})
	if err != nil {
		t.Fatal(err)
	}
	d := out.ServiceDetails[0]
	if aws.ToString(d.PrivateDnsName) != "db.example.com" || d.PrivateDnsNameVerificationState != ec2types.DnsNameStatePendingVerification {
		t.Errorf("unverified service detail: PrivateDnsName %q, state %q", aws.ToString(d.PrivateDnsName), d.PrivateDnsNameVerificationState)
	}
	if len(d.PrivateDnsNames) != 1 || aws.ToString(d.PrivateDnsNames[0].PrivateDnsName) != "db.example.com" {
		t.Errorf("unverified service detail: PrivateDnsNames %+v", d.PrivateDnsNames)
	}
	// The endpoint still gets no private DNS name.
	cn := plNetwork(t, env, consumer, "us-east-1a")
	ep := plEndpoint(t, env, consumer, cn, *svc.ServiceName, nil, "us-east-1a")
	if *ep.PrivateDnsEnabled {
		t.Error("an endpoint to an unverified name must not default to private DNS")
	}
	for _, e := range ep.DnsEntries {
		if *e.DnsName == "db.example.com" {
			t.Errorf("endpoint got the unverified name: %+v", ep.DnsEntries)
		}
	}
	// A stranger still sees nothing of the service.
	_, err = env.EC2(stranger).DescribeVpcEndpointServices(ctx, &ec2.DescribeVpcEndpointServicesInput{ServiceNames: []string{*svc.ServiceName}})
	netWantCode(t, err, "InvalidServiceName")
}

// TestPrivateLinkPermissionTags tags an allowed principal (vpce-svc-perm-…): only
// the service owner may, and the tags show in DescribeTags and
// DescribeVpcEndpointServicePermissions.
func TestPrivateLinkPermissionTags(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	svc := plProvider(t, env, aws.Bool(false), "")
	p := env.EC2(provider)
	mod, err := p.ModifyVpcEndpointServicePermissions(ctx, &ec2.ModifyVpcEndpointServicePermissionsInput{
		ServiceId: svc.ServiceId, AddAllowedPrincipals: []string{"arn:aws:iam::" + consumer + ":root"}})
	if err != nil {
		t.Fatal(err)
	}
	perm := *mod.AddedPrincipals[0].ServicePermissionId
	tags := []ec2types.Tag{{Key: aws.String("team"), Value: aws.String("db")}, {Key: aws.String("env"), Value: aws.String("prod")}}
	if _, err := p.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{perm}, Tags: tags}); err != nil {
		t.Fatal(err)
	}
	// Only the owner: the consumer and a stranger cannot see the permission.
	for _, acct := range []string{consumer, stranger} {
		_, err := env.EC2(acct).CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{perm}, Tags: tags[:1]})
		netWantCode(t, err, "InvalidVpcEndpointServicePermissionId.NotFound")
		_, err = env.EC2(acct).DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{perm}})
		netWantCode(t, err, "InvalidVpcEndpointServicePermissionId.NotFound")
		out, err := env.EC2(acct).DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{perm}}}})
		if err != nil || len(out.Tags) != 0 {
			t.Errorf("%s sees permission tags: %v %+v", acct, err, out)
		}
	}
	described, err := p.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{perm}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(described.Tags) != 2 || *described.Tags[0].Key != "env" || described.Tags[0].ResourceType != ec2types.ResourceTypeVpcEndpointServicePermission {
		t.Errorf("DescribeTags: %+v", described.Tags)
	}
	perms := func() []ec2types.Tag {
		t.Helper()
		out, err := p.DescribeVpcEndpointServicePermissions(ctx, &ec2.DescribeVpcEndpointServicePermissionsInput{ServiceId: svc.ServiceId})
		if err != nil {
			t.Fatal(err)
		}
		return out.AllowedPrincipals[0].Tags
	}
	if got := perms(); len(got) != 2 {
		t.Errorf("AllowedPrincipal.Tags %+v, want 2 tags", got)
	}
	if _, err := p.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{perm}, Tags: []ec2types.Tag{{Key: aws.String("team")}}}); err != nil {
		t.Fatal(err)
	}
	if got := perms(); len(got) != 1 || *got[0].Key != "env" {
		t.Errorf("after DeleteTags: AllowedPrincipal.Tags %+v", got)
	}
	// A permission that does not exist, or was removed.
	if _, err := p.ModifyVpcEndpointServicePermissions(ctx, &ec2.ModifyVpcEndpointServicePermissionsInput{
		ServiceId: svc.ServiceId, RemoveAllowedPrincipals: []string{"arn:aws:iam::" + consumer + ":root"}}); err != nil {
		t.Fatal(err)
	}
	_, err = p.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{perm}, Tags: tags[:1]})
	netWantCode(t, err, "InvalidVpcEndpointServicePermissionId.NotFound")
}

// TestPrivateLinkDecideMalformedID answers a malformed endpoint ID in Accept and
// RejectVpcEndpointConnections with InvalidVpcEndpointId.Malformed for that item.
func TestPrivateLinkDecideMalformedID(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	svc := plProvider(t, env, aws.Bool(true), "")
	p := env.EC2(provider)
	ids := []string{"vpce-nothex", "vpce-0123456789abcdef0"}
	want := map[string]string{ids[0]: "InvalidVpcEndpointId.Malformed", ids[1]: "InvalidVpcEndpointId.NotFound"}
	check := func(op string, items []ec2types.UnsuccessfulItem) {
		t.Helper()
		got := map[string]string{}
		for _, it := range items {
			got[*it.ResourceId] = *it.Error.Code
		}
		if len(got) != 2 || got[ids[0]] != want[ids[0]] || got[ids[1]] != want[ids[1]] {
			t.Errorf("%s: unsuccessful %v, want %v", op, got, want)
		}
	}
	acc, err := p.AcceptVpcEndpointConnections(ctx, &ec2.AcceptVpcEndpointConnectionsInput{ServiceId: svc.ServiceId, VpcEndpointIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	check("AcceptVpcEndpointConnections", acc.Unsuccessful)
	rej, err := p.RejectVpcEndpointConnections(ctx, &ec2.RejectVpcEndpointConnectionsInput{ServiceId: svc.ServiceId, VpcEndpointIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	check("RejectVpcEndpointConnections", rej.Unsuccessful)
}
