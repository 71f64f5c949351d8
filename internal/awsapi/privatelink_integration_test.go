package awsapi_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"strait/internal/control/endpoints"
	"strait/internal/model"
	"strait/internal/testenv"
)

const stranger = "333333333333"

// plNet is an account's VPC with one subnet per zone.
type plNet struct {
	vpc     string
	subnets map[string]string // zone → subnet
	sg      string            // the VPC's default security group
}

// plNetwork creates a 10.0.0.0/16 VPC (DNS hostnames on) with a /24 subnet in each
// of the given zones.
func plNetwork(t *testing.T, env *testenv.Env, acct string, zones ...string) plNet {
	t.Helper()
	ctx := testenv.Ctx(t)
	c := env.EC2(acct)
	v, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	n := plNet{vpc: *v.Vpc.VpcId, subnets: map[string]string{}}
	if _, err := c.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: v.Vpc.VpcId, EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	for i, z := range zones {
		s, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i+1)), AvailabilityZone: aws.String(z)})
		if err != nil {
			t.Fatal(err)
		}
		n.subnets[z] = *s.Subnet.SubnetId
	}
	g, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{n.vpc}}, {Name: aws.String("group-name"), Values: []string{"default"}}}})
	if err != nil || len(g.SecurityGroups) != 1 {
		t.Fatalf("default security group: %v %v", err, g)
	}
	n.sg = *g.SecurityGroups[0].GroupId
	return n
}

// plNLB creates an internal network load balancer in the given subnets.
func plNLB(t *testing.T, env *testenv.Env, acct, name string, subnets ...string) string {
	t.Helper()
	out, err := env.ELB(acct).CreateLoadBalancer(testenv.Ctx(t), &elbv2.CreateLoadBalancerInput{
		Name: aws.String(name), Type: elbtypes.LoadBalancerTypeEnumNetwork, Scheme: elbtypes.LoadBalancerSchemeEnumInternal, Subnets: subnets,
	})
	if err != nil {
		t.Fatal(err)
	}
	return *out.LoadBalancers[0].LoadBalancerArn
}

// plService publishes a load balancer; acceptance nil leaves the default.
func plService(t *testing.T, env *testenv.Env, acct, arn string, acceptance *bool, privateDNS string) ec2types.ServiceConfiguration {
	t.Helper()
	in := &ec2.CreateVpcEndpointServiceConfigurationInput{NetworkLoadBalancerArns: []string{arn}, AcceptanceRequired: acceptance}
	if privateDNS != "" {
		in.PrivateDnsName = aws.String(privateDNS)
	}
	out, err := env.EC2(acct).CreateVpcEndpointServiceConfiguration(testenv.Ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	return *out.ServiceConfiguration
}

func plAllow(t *testing.T, env *testenv.Env, acct, svc string, principals ...string) {
	t.Helper()
	if _, err := env.EC2(acct).ModifyVpcEndpointServicePermissions(testenv.Ctx(t), &ec2.ModifyVpcEndpointServicePermissionsInput{
		ServiceId: aws.String(svc), AddAllowedPrincipals: principals}); err != nil {
		t.Fatal(err)
	}
}

// plEndpoint creates an interface endpoint and returns it.
func plEndpoint(t *testing.T, env *testenv.Env, acct string, n plNet, service string, privateDNS *bool, zones ...string) ec2types.VpcEndpoint {
	t.Helper()
	ep, err := plTryEndpoint(t, env, acct, n, service, privateDNS, zones...)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func plTryEndpoint(t *testing.T, env *testenv.Env, acct string, n plNet, service string, privateDNS *bool, zones ...string) (ec2types.VpcEndpoint, error) {
	t.Helper()
	var subnets []string
	for _, z := range zones {
		subnets = append(subnets, n.subnets[z])
	}
	out, err := env.EC2(acct).CreateVpcEndpoint(testenv.Ctx(t), &ec2.CreateVpcEndpointInput{
		VpcEndpointType: ec2types.VpcEndpointTypeInterface, VpcId: aws.String(n.vpc), ServiceName: aws.String(service),
		SubnetIds: subnets, PrivateDnsEnabled: privateDNS,
	})
	if err != nil {
		return ec2types.VpcEndpoint{}, err
	}
	return *out.VpcEndpoint, nil
}

// plWaitEndpoint polls an endpoint until it reaches state (or, with state "",
// until it is gone) and returns it.
func plWaitEndpoint(t *testing.T, env *testenv.Env, acct, id, state string) ec2types.VpcEndpoint {
	t.Helper()
	c := env.EC2(acct)
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := c.DescribeVpcEndpoints(testenv.Ctx(t), &ec2.DescribeVpcEndpointsInput{
			Filters: []ec2types.Filter{{Name: aws.String("vpc-endpoint-id"), Values: []string{id}}}})
		if err != nil {
			t.Fatal(err)
		}
		if state == "" && len(out.VpcEndpoints) == 0 {
			return ec2types.VpcEndpoint{}
		}
		if len(out.VpcEndpoints) == 1 && string(out.VpcEndpoints[0].State) == state {
			return out.VpcEndpoints[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint %s did not reach state %q: %+v", id, state, out.VpcEndpoints)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func plWaitService(t *testing.T, env *testenv.Env, acct, id string) ec2types.ServiceConfiguration {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := env.EC2(acct).DescribeVpcEndpointServiceConfigurations(testenv.Ctx(t), &ec2.DescribeVpcEndpointServiceConfigurationsInput{ServiceIds: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		if out.ServiceConfigurations[0].ServiceState == ec2types.ServiceStateAvailable {
			return out.ServiceConfigurations[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("service %s did not become Available: %+v", id, out.ServiceConfigurations[0])
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// plProvider sets up the provider side shared by most tests: a VPC with subnets in
// zones a and b, an NLB in both and a service in front of it.
func plProvider(t *testing.T, env *testenv.Env, acceptance *bool, privateDNS string) ec2types.ServiceConfiguration {
	t.Helper()
	p := plNetwork(t, env, provider, "us-east-1a", "us-east-1b")
	arn := plNLB(t, env, provider, "pl-nlb", p.subnets["us-east-1a"], p.subnets["us-east-1b"])
	svc := plService(t, env, provider, arn, acceptance, privateDNS)
	return plWaitService(t, env, provider, *svc.ServiceId)
}

// TestPrivateLinkGuide004 follows guide 004 ("reverse PrivateLink") with the AWS
// CLI where the guide uses it: NLB with an IP target group on TCP 3306, an endpoint
// service with no acceptance required, one account principal allowed; the consumer
// creates an endpoint that becomes available without the provider acting.
func TestPrivateLinkGuide004(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	p := plNetwork(t, env, provider, "us-east-1a", "us-east-1b", "us-east-1c")
	elb := env.ELB(provider)
	arn := plNLB(t, env, provider, "db-nlb", p.subnets["us-east-1a"], p.subnets["us-east-1b"], p.subnets["us-east-1c"])
	tg, err := elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("db-tg"), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(3306), VpcId: aws.String(p.vpc), TargetType: elbtypes.TargetTypeEnumIp})
	if err != nil {
		t.Fatal(err)
	}
	tgARN := tg.TargetGroups[0].TargetGroupArn
	if _, err := elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: tgARN, Targets: []elbtypes.TargetDescription{{Id: aws.String("10.0.1.50")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(arn), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(3306),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tgARN}}}); err != nil {
		t.Fatal(err)
	}

	out := env.AWS(provider, "ec2", "create-vpc-endpoint-service-configuration", "--network-load-balancer-arns", arn, "--no-acceptance-required")
	cfg := out["ServiceConfiguration"].(map[string]any)
	svcID, svcName := cfg["ServiceId"].(string), cfg["ServiceName"].(string)
	if cfg["AcceptanceRequired"] != false || svcName != "com.amazonaws.vpce.us-east-1."+svcID || !model.ValidID(model.PrefixService, svcID) {
		t.Fatalf("service configuration: %v", cfg)
	}
	if got := fmt.Sprint(cfg["BaseEndpointDnsNames"]); got != "["+svcID+".us-east-1.vpce.amazonaws.com]" {
		t.Errorf("BaseEndpointDnsNames = %s", got)
	}
	if got := fmt.Sprint(cfg["AvailabilityZones"]); got != "[us-east-1a us-east-1b us-east-1c]" {
		t.Errorf("AvailabilityZones = %s", got)
	}
	perms := env.AWS(provider, "ec2", "modify-vpc-endpoint-service-permissions", "--service-id", svcID,
		"--add-allowed-principals", `["arn:aws:iam::`+consumer+`:root"]`)
	added := perms["AddedPrincipals"].([]any)[0].(map[string]any)
	if perms["ReturnValue"] != true || added["PrincipalType"] != "Account" || !strings.HasPrefix(added["ServicePermissionId"].(string), "vpce-svc-perm-") {
		t.Fatalf("permissions: %v", perms)
	}
	plWaitService(t, env, provider, svcID)

	c := plNetwork(t, env, consumer, "us-east-1a", "us-east-1b")
	seen, err := env.EC2(consumer).DescribeVpcEndpointServices(ctx, &ec2.DescribeVpcEndpointServicesInput{ServiceNames: []string{svcName}})
	if err != nil {
		t.Fatal(err)
	}
	d := seen.ServiceDetails[0]
	if *d.Owner != provider || *d.AcceptanceRequired || *d.VpcEndpointPolicySupported || d.ServiceType[0].ServiceType != ec2types.ServiceTypeInterface {
		t.Errorf("service detail: %+v", d)
	}
	created := env.AWS(consumer, "ec2", "create-vpc-endpoint", "--vpc-endpoint-type", "Interface", "--vpc-id", c.vpc,
		"--service-name", svcName, "--subnet-ids", c.subnets["us-east-1a"], c.subnets["us-east-1b"])
	vpce := created["VpcEndpoint"].(map[string]any)
	id := vpce["VpcEndpointId"].(string)
	if vpce["State"] != "pending" || vpce["PrivateDnsEnabled"] != false || vpce["RequesterManaged"] != false || vpce["OwnerId"] != consumer ||
		len(vpce["NetworkInterfaceIds"].([]any)) != 2 || !model.ValidID(model.PrefixEndpoint, id) {
		t.Fatalf("new endpoint: %v", vpce)
	}
	ep := plWaitEndpoint(t, env, consumer, id, "available")
	if len(ep.DnsEntries) != 3 {
		t.Fatalf("DNS entries: %+v", ep.DnsEntries)
	}
	regional := *ep.DnsEntries[0].DnsName
	label := strings.TrimPrefix(strings.SplitN(regional, ".", 2)[0], id+"-")
	if len(label) != 8 || regional != id+"-"+label+"."+svcID+".us-east-1.vpce.amazonaws.com" || *ep.DnsEntries[0].HostedZoneId != "Z7HUB22UULQXV" {
		t.Errorf("regional DNS name %s", regional)
	}
	if got := *ep.DnsEntries[1].DnsName; got != id+"-"+label+"-us-east-1a."+svcID+".us-east-1.vpce.amazonaws.com" {
		t.Errorf("zonal DNS name %s", got)
	}
	if len(ep.Groups) != 1 || *ep.Groups[0].GroupId != c.sg || *ep.Groups[0].GroupName != "default" {
		t.Errorf("groups %+v", ep.Groups)
	}
	if ep.DnsOptions.DnsRecordIpType != ec2types.DnsRecordIpTypeIpv4 || ep.IpAddressType != ec2types.IpAddressTypeIpv4 || *ep.PolicyDocument != awsDefaultInterfaceEndpointPolicy {
		t.Errorf("options %+v %v %v", ep.DnsOptions, ep.IpAddressType, *ep.PolicyDocument)
	}
	conns, err := env.EC2(provider).DescribeVpcEndpointConnections(ctx, &ec2.DescribeVpcEndpointConnectionsInput{
		Filters: []ec2types.Filter{{Name: aws.String("service-id"), Values: []string{svcID}}}})
	if err != nil {
		t.Fatal(err)
	}
	conn := conns.VpcEndpointConnections[0]
	if *conn.VpcEndpointId != id || *conn.VpcEndpointOwner != consumer || conn.VpcEndpointState != "available" ||
		!strings.HasPrefix(*conn.VpcEndpointConnectionId, "vpce-con-") || conn.NetworkLoadBalancerArns[0] != arn || *conn.VpcEndpointRegion != testenv.Region {
		t.Errorf("connection %+v", conn)
	}
}

// TestPrivateLinkGuide000 follows guide 000: acceptance required (the default), the
// provider accepts the consumer's endpoint by ID and it becomes available; another
// endpoint is rejected.
func TestPrivateLinkGuide000(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	svc := plProvider(t, env, nil, "")
	if !*svc.AcceptanceRequired {
		t.Fatal("AcceptanceRequired must default to true")
	}
	plAllow(t, env, provider, *svc.ServiceId, "arn:aws:iam::"+consumer+":root")
	c := plNetwork(t, env, consumer, "us-east-1a", "us-east-1b")
	ep := plEndpoint(t, env, consumer, c, *svc.ServiceName, nil, "us-east-1a")
	if ep.State != "pendingAcceptance" {
		t.Fatalf("state %s, want pendingAcceptance", ep.State)
	}
	time.Sleep(50 * time.Millisecond)
	plWaitEndpoint(t, env, consumer, *ep.VpcEndpointId, "pendingAcceptance")

	p := env.EC2(provider)
	acc, err := p.AcceptVpcEndpointConnections(ctx, &ec2.AcceptVpcEndpointConnectionsInput{ServiceId: svc.ServiceId, VpcEndpointIds: []string{*ep.VpcEndpointId}})
	if err != nil || len(acc.Unsuccessful) != 0 {
		t.Fatalf("accept: %v %+v", err, acc)
	}
	plWaitEndpoint(t, env, consumer, *ep.VpcEndpointId, "available")
	again, err := p.AcceptVpcEndpointConnections(ctx, &ec2.AcceptVpcEndpointConnectionsInput{ServiceId: svc.ServiceId, VpcEndpointIds: []string{*ep.VpcEndpointId, "vpce-0123456789abcdef0"}})
	if err != nil || len(again.Unsuccessful) != 2 || *again.Unsuccessful[0].Error.Code != "IncorrectState" || *again.Unsuccessful[1].Error.Code != "InvalidVpcEndpointId.NotFound" {
		t.Fatalf("accept again: %v %+v", err, again)
	}

	other := plEndpoint(t, env, consumer, c, *svc.ServiceName, nil, "us-east-1b")
	rej, err := p.RejectVpcEndpointConnections(ctx, &ec2.RejectVpcEndpointConnectionsInput{ServiceId: svc.ServiceId, VpcEndpointIds: []string{*other.VpcEndpointId}})
	if err != nil || len(rej.Unsuccessful) != 0 {
		t.Fatalf("reject: %v %+v", err, rej)
	}
	r := plWaitEndpoint(t, env, consumer, *other.VpcEndpointId, "rejected")
	if len(r.NetworkInterfaceIds) != 1 {
		t.Errorf("a rejected endpoint keeps its interfaces until deleted: %+v", r)
	}
	_, err = p.AcceptVpcEndpointConnections(ctx, &ec2.AcceptVpcEndpointConnectionsInput{ServiceId: svc.ServiceId, VpcEndpointIds: []string{*other.VpcEndpointId}})
	if err != nil {
		t.Fatal(err)
	}
	plWaitEndpoint(t, env, consumer, *other.VpcEndpointId, "rejected")

	// Guide 000, step 6: the consumer enables private DNS once available; the service
	// has no verified name, so that is refused.
	_, err = env.EC2(consumer).ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, PrivateDnsEnabled: aws.Bool(true)})
	netWantCode(t, err, "InvalidParameter")
}

// TestPrivateLinkPrincipals checks who may see a service and connect to it.
func TestPrivateLinkPrincipals(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	svc := plProvider(t, env, aws.Bool(false), "")
	name := *svc.ServiceName
	c := plNetwork(t, env, consumer, "us-east-1a")
	s := plNetwork(t, env, stranger, "us-east-1a")

	visible := func(acct string) bool {
		out, err := env.EC2(acct).DescribeVpcEndpointServices(ctx, &ec2.DescribeVpcEndpointServicesInput{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = env.EC2(acct).DescribeVpcEndpointServices(ctx, &ec2.DescribeVpcEndpointServicesInput{ServiceNames: []string{name}})
		byName := err == nil
		if !byName {
			netWantCode(t, err, "InvalidServiceName")
		}
		listed := slices.Contains(out.ServiceNames, name)
		if listed != byName {
			t.Fatalf("%s: listed %v but by name %v", acct, listed, byName)
		}
		return listed
	}
	if visible(consumer) || visible(stranger) || !visible(provider) {
		t.Fatal("before any permission only the owner sees the service")
	}
	_, err := plTryEndpoint(t, env, consumer, c, name, nil, "us-east-1a")
	netWantCode(t, err, "InvalidServiceName")

	_, err = env.EC2(provider).ModifyVpcEndpointServicePermissions(ctx, &ec2.ModifyVpcEndpointServicePermissionsInput{
		ServiceId: svc.ServiceId, AddAllowedPrincipals: []string{"arn:aws:sts::" + consumer + ":assumed-role/x/y"}})
	netWantCode(t, err, "InvalidPrincipal")

	plAllow(t, env, provider, *svc.ServiceId, "arn:aws:iam::"+consumer+":role/Importer")
	if !visible(consumer) || visible(stranger) {
		t.Fatal("a role ARN admits its account (there are no IAM identities yet), and only it")
	}
	ep := plEndpoint(t, env, consumer, c, name, nil, "us-east-1a")
	plWaitEndpoint(t, env, consumer, *ep.VpcEndpointId, "available")

	plAllow(t, env, provider, *svc.ServiceId, "*")
	if !visible(stranger) {
		t.Fatal(`"*" admits every account`)
	}
	plEndpoint(t, env, stranger, s, name, nil, "us-east-1a")
	perms, err := env.EC2(provider).DescribeVpcEndpointServicePermissions(ctx, &ec2.DescribeVpcEndpointServicePermissionsInput{
		ServiceId: svc.ServiceId, Filters: []ec2types.Filter{{Name: aws.String("principal-type"), Values: []string{"All"}}}})
	if err != nil || len(perms.AllowedPrincipals) != 1 || *perms.AllowedPrincipals[0].Principal != "*" {
		t.Fatalf("permissions: %v %+v", err, perms)
	}

	// Removing a principal leaves its live connection up, as in AWS.
	_, err = env.EC2(provider).ModifyVpcEndpointServicePermissions(ctx, &ec2.ModifyVpcEndpointServicePermissionsInput{
		ServiceId: svc.ServiceId, RemoveAllowedPrincipals: []string{"*", "arn:aws:iam::" + consumer + ":role/Importer"}})
	if err != nil {
		t.Fatal(err)
	}
	if visible(consumer) {
		t.Fatal("a removed principal no longer sees the service")
	}
	time.Sleep(20 * time.Millisecond)
	plWaitEndpoint(t, env, consumer, *ep.VpcEndpointId, "available")

	// With RejectRemovedPrincipals, removing a principal rejects its connections.
	ctl := env.Server.Control()
	if err := ctl.ModifyEndpointService(ctx, provider, *svc.ServiceId, endpoints.ModifyServiceInput{RejectRemovedPrincipals: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	plAllow(t, env, provider, *svc.ServiceId, "arn:aws:iam::"+consumer+":root")
	ep2 := plEndpoint(t, env, consumer, c, name, nil, "us-east-1a")
	plWaitEndpoint(t, env, consumer, *ep2.VpcEndpointId, "available")
	if _, err := ctl.ModifyServicePermissions(ctx, provider, *svc.ServiceId, nil, []string{"arn:aws:iam::" + consumer + ":root"}); err != nil {
		t.Fatal(err)
	}
	plWaitEndpoint(t, env, consumer, *ep2.VpcEndpointId, "rejected")
	plWaitEndpoint(t, env, consumer, *ep.VpcEndpointId, "rejected")
}

// TestPrivateLinkDeleteService checks that a service with live connections cannot
// be deleted, and can once the consumer deleted its endpoint.
func TestPrivateLinkDeleteService(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	svc := plProvider(t, env, nil, "")
	plAllow(t, env, provider, *svc.ServiceId, "arn:aws:iam::"+consumer+":root")
	c := plNetwork(t, env, consumer, "us-east-1a")
	ep := plEndpoint(t, env, consumer, c, *svc.ServiceName, nil, "us-east-1a")

	p := env.EC2(provider)
	del, err := p.DeleteVpcEndpointServiceConfigurations(ctx, &ec2.DeleteVpcEndpointServiceConfigurationsInput{ServiceIds: []string{*svc.ServiceId, "vpce-svc-0123456789abcdef0"}})
	if err != nil || len(del.Unsuccessful) != 2 {
		t.Fatalf("delete: %v %+v", err, del)
	}
	if u := del.Unsuccessful[0]; *u.ResourceId != *svc.ServiceId || *u.Error.Code != "ExistingVpcEndpointConnections" || *u.Error.Message != "Service has existing active VPC Endpoint connections" {
		t.Errorf("unsuccessful item %+v %+v", u, u.Error)
	}
	// AWS's item code for a service that does not exist, which controllers match to
	// treat a repeated delete as done
	// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
	if u := del.Unsuccessful[1]; *u.Error.Code != "InvalidVpcEndpointService.NotFound" ||
		*u.Error.Message != "The VpcEndpointService Id 'vpce-svc-0123456789abcdef0' does not exist" {
		t.Errorf("unsuccessful item %s: %s", *u.Error.Code, *u.Error.Message)
	}
	// The load balancer of a service cannot be deleted either.
	_, err = env.ELB(provider).DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(svc.NetworkLoadBalancerArns[0])})
	if err == nil {
		t.Fatal("deleting a published load balancer must fail")
	}

	if _, err := env.EC2(consumer).DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{*ep.VpcEndpointId}}); err != nil {
		t.Fatal(err)
	}
	plWaitEndpoint(t, env, consumer, *ep.VpcEndpointId, "")
	del, err = p.DeleteVpcEndpointServiceConfigurations(ctx, &ec2.DeleteVpcEndpointServiceConfigurationsInput{ServiceIds: []string{*svc.ServiceId}})
	if err != nil || len(del.Unsuccessful) != 0 {
		t.Fatalf("delete: %v %+v", err, del)
	}
	_, err = p.DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{ServiceIds: []string{*svc.ServiceId}})
	netWantCode(t, err, "InvalidVpcEndpointServiceId.NotFound")
	if _, err := env.ELB(provider).DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(svc.NetworkLoadBalancerArns[0])}); err != nil {
		t.Fatalf("the load balancer is free again: %v", err)
	}
}

// TestPrivateLinkPrivateDNS verifies a private DNS name against a local DNS server
// and checks what endpoints do with it.
func TestPrivateLinkPrivateDNS(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	srv := testenv.StartDNS(t)
	ctl := env.Server.Control()
	ctl.SetResolver(srv.Addr)

	svc := plProvider(t, env, aws.Bool(false), "db.example.com")
	cfg := svc.PrivateDnsNameConfiguration
	if cfg.State != ec2types.DnsNameStatePendingVerification || *cfg.Type != "TXT" || !strings.HasPrefix(*cfg.Name, "_") || len(*cfg.Name) < 21 || !strings.HasPrefix(*cfg.Value, "vpce:") {
		t.Fatalf("private DNS configuration: %+v", cfg)
	}
	plAllow(t, env, provider, *svc.ServiceId, "arn:aws:iam::"+consumer+":root")
	p, c := env.EC2(provider), env.EC2(consumer)
	verify := func() ec2types.ServiceConfiguration {
		t.Helper()
		if _, err := p.StartVpcEndpointServicePrivateDnsVerification(ctx, &ec2.StartVpcEndpointServicePrivateDnsVerificationInput{ServiceId: svc.ServiceId}); err != nil {
			t.Fatal(err)
		}
		out, err := p.DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{ServiceIds: []string{*svc.ServiceId}})
		if err != nil {
			t.Fatal(err)
		}
		return out.ServiceConfigurations[0]
	}
	record := *cfg.Name + ".db.example.com"
	detail := func() string {
		s, err := ctl.EndpointService(ctx, provider, *svc.ServiceId)
		if err != nil {
			t.Fatal(err)
		}
		return s.DNSVerification.Detail
	}

	// No record: failed, and the detail names the record and value expected.
	if got := verify(); got.PrivateDnsNameConfiguration.State != ec2types.DnsNameStateFailed {
		t.Fatalf("state %s, want failed", got.PrivateDnsNameConfiguration.State)
	}
	if d := detail(); !strings.Contains(d, record) || !strings.Contains(d, *cfg.Value) || !strings.Contains(d, "NXDOMAIN") {
		t.Errorf("detail %q", d)
	}
	srv.SetTXT(record, "vpce:wrong")
	verify()
	if d := detail(); !strings.Contains(d, `"vpce:wrong"`) {
		t.Errorf("detail %q should show the value found", d)
	}

	cn := plNetwork(t, env, consumer, "us-east-1a", "us-east-1b")
	_, err := plTryEndpoint(t, env, consumer, cn, *svc.ServiceName, aws.Bool(true), "us-east-1a")
	netWantCode(t, err, "InvalidParameter")
	unverified := plEndpoint(t, env, consumer, cn, *svc.ServiceName, nil, "us-east-1a")
	if *unverified.PrivateDnsEnabled {
		t.Error("without a verified name an omitted PrivateDnsEnabled means false")
	}

	srv.SetTXT(record, "other", *cfg.Value)
	if got := verify(); got.PrivateDnsNameConfiguration.State != ec2types.DnsNameStateVerified || *got.PrivateDnsName != "db.example.com" {
		t.Fatalf("verification: %+v", got.PrivateDnsNameConfiguration)
	}
	seen, err := c.DescribeVpcEndpointServices(ctx, &ec2.DescribeVpcEndpointServicesInput{ServiceNames: []string{*svc.ServiceName}})
	if err != nil {
		t.Fatal(err)
	}
	if d := seen.ServiceDetails[0]; aws.ToString(d.PrivateDnsName) != "db.example.com" || d.PrivateDnsNameVerificationState != ec2types.DnsNameStateVerified {
		t.Errorf("service detail %+v", d)
	}

	// A VPC without DNS hostnames cannot have private DNS.
	bare, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	bs, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: bare.Vpc.VpcId, CidrBlock: aws.String("10.9.1.0/24"), AvailabilityZone: aws.String("us-east-1a")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = plTryEndpoint(t, env, consumer, plNet{vpc: *bare.Vpc.VpcId, subnets: map[string]string{"us-east-1a": *bs.Subnet.SubnetId}}, *svc.ServiceName, nil, "us-east-1a")
	netWantCode(t, err, "InvalidParameter")

	// Verified: the default is private DNS on, with the name as the last DNS entry.
	ep := plEndpoint(t, env, consumer, cn, *svc.ServiceName, nil, "us-east-1b")
	ep = plWaitEndpoint(t, env, consumer, *ep.VpcEndpointId, "available")
	last := ep.DnsEntries[len(ep.DnsEntries)-1]
	if !*ep.PrivateDnsEnabled || *last.DnsName != "db.example.com" || !strings.HasPrefix(*last.HostedZoneId, "Z") {
		t.Fatalf("endpoint %+v %+v", ep, last)
	}
	// Only one private-DNS endpoint per name per VPC.
	_, err = c.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: unverified.VpcEndpointId, PrivateDnsEnabled: aws.Bool(true)})
	netWantCode(t, err, "ConflictingDomainExists")
	_, err = plTryEndpoint(t, env, consumer, cn, *svc.ServiceName, aws.Bool(true), "us-east-1a")
	netWantCode(t, err, "ConflictingDomainExists")
	// Turning it off on the first frees the name.
	if _, err := c.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, PrivateDnsEnabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: unverified.VpcEndpointId, PrivateDnsEnabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	// Deleting an endpoint frees its name too.
	if _, err := c.DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{*unverified.VpcEndpointId}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, PrivateDnsEnabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}

	// Changing the name starts a new verification.
	if _, err := p.ModifyVpcEndpointServiceConfiguration(ctx, &ec2.ModifyVpcEndpointServiceConfigurationInput{ServiceId: svc.ServiceId, PrivateDnsName: aws.String("db2.example.com")}); err != nil {
		t.Fatal(err)
	}
	out, err := p.DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{ServiceIds: []string{*svc.ServiceId}})
	if err != nil {
		t.Fatal(err)
	}
	n := out.ServiceConfigurations[0].PrivateDnsNameConfiguration
	if n.State != ec2types.DnsNameStatePendingVerification || *n.Value == *cfg.Value {
		t.Errorf("after a new name: %+v", n)
	}
	// The endpoint loses the old name at once and gets the new one once verified.
	lastName := func() string {
		got := plWaitEndpoint(t, env, consumer, *ep.VpcEndpointId, "available")
		return *got.DnsEntries[len(got.DnsEntries)-1].DnsName
	}
	if got := lastName(); got == "db.example.com" {
		t.Errorf("the endpoint still lists the old name")
	}
	srv.SetTXT(*n.Name+".db2.example.com", *n.Value)
	verify()
	for deadline := time.Now().Add(time.Minute); lastName() != "db2.example.com"; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the endpoint did not take the new name")
		}
	}
}

// TestPrivateLinkSubnets checks the subnet rules of endpoints and that their ENIs
// take addresses of the consumer's subnets.
func TestPrivateLinkSubnets(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	svc := plProvider(t, env, aws.Bool(false), "")
	plAllow(t, env, provider, *svc.ServiceId, "arn:aws:iam::"+consumer+":root")
	cn := plNetwork(t, env, consumer, "us-east-1a", "us-east-1b", "us-east-1c")
	c := env.EC2(consumer)
	extra, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(cn.vpc), CidrBlock: aws.String("10.0.9.0/24"), AvailabilityZone: aws.String("us-east-1a")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: ec2types.VpcEndpointTypeInterface, VpcId: aws.String(cn.vpc),
		ServiceName: svc.ServiceName, SubnetIds: []string{cn.subnets["us-east-1a"], *extra.Subnet.SubnetId}})
	netWantCode(t, err, "DuplicateSubnetsInSameZone")
	_, err = plTryEndpoint(t, env, consumer, cn, *svc.ServiceName, nil, "us-east-1c")
	netWantCode(t, err, "InvalidParameter")
	other := plNetwork(t, env, consumer, "us-east-1a")
	_, err = c.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: ec2types.VpcEndpointTypeInterface, VpcId: aws.String(cn.vpc),
		ServiceName: svc.ServiceName, SubnetIds: []string{other.subnets["us-east-1a"]}})
	netWantCode(t, err, "InvalidParameter")
	_, err = c.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcId: aws.String(cn.vpc), ServiceName: svc.ServiceName, SubnetIds: []string{cn.subnets["us-east-1a"]}})
	netWantCode(t, err, "InvalidParameter") // the default type is Gateway

	free := func(zone string) int32 {
		out, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{cn.subnets[zone]}})
		if err != nil {
			t.Fatal(err)
		}
		return *out.Subnets[0].AvailableIpAddressCount
	}
	before := free("us-east-1a")
	ep := plEndpoint(t, env, consumer, cn, *svc.ServiceName, nil, "us-east-1a", "us-east-1b")
	if got := free("us-east-1a"); got != before-1 {
		t.Errorf("available addresses %d, want %d", got, before-1)
	}
	enis, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: ep.NetworkInterfaceIds})
	if err != nil {
		t.Fatal(err)
	}
	if len(enis.NetworkInterfaces) != 2 {
		t.Fatalf("interfaces %+v", enis.NetworkInterfaces)
	}
	for _, e := range enis.NetworkInterfaces {
		if e.InterfaceType != "vpc_endpoint" || !*e.RequesterManaged || *e.Description != "VPC Endpoint Interface "+*ep.VpcEndpointId || *e.OwnerId != consumer || *e.VpcId != cn.vpc {
			t.Errorf("interface %+v", e)
		}
	}
	// Provider-side isolation: the provider sees none of these interfaces.
	penis, err := env.EC2(provider).DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{cn.vpc}}}})
	if err == nil && len(penis.NetworkInterfaces) != 0 {
		t.Errorf("provider sees consumer interfaces: %+v", penis.NetworkInterfaces)
	}

	// Modify: move from b to a new zone's subnet is refused (c is unsupported), add a
	// security group, remove subnet b.
	g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(cn.vpc), GroupName: aws.String("clients"), Description: aws.String("clients")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, AddSubnetIds: []string{cn.subnets["us-east-1c"]}})
	netWantCode(t, err, "InvalidParameter")
	_, err = c.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, AddSubnetIds: []string{*extra.Subnet.SubnetId}})
	netWantCode(t, err, "DuplicateSubnetsInSameZone")
	if _, err := c.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId,
		RemoveSubnetIds: []string{cn.subnets["us-east-1b"]}, AddSecurityGroupIds: []string{*g.GroupId}}); err != nil {
		t.Fatal(err)
	}
	got := plWaitEndpoint(t, env, consumer, *ep.VpcEndpointId, "available")
	if len(got.NetworkInterfaceIds) != 1 || len(got.SubnetIds) != 1 || len(got.Groups) != 2 || len(got.DnsEntries) != 2 {
		t.Fatalf("after modify: %+v", got)
	}
	enis, err = c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: got.NetworkInterfaceIds})
	if err != nil {
		t.Fatal(err)
	}
	if len(enis.NetworkInterfaces[0].Groups) != 2 {
		t.Errorf("interface groups %+v", enis.NetworkInterfaces[0].Groups)
	}
	if _, err := c.DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{*ep.VpcEndpointId}}); err != nil {
		t.Fatal(err)
	}
	plWaitEndpoint(t, env, consumer, *ep.VpcEndpointId, "")
	if got := free("us-east-1a"); got != before {
		t.Errorf("available addresses %d after delete, want %d", got, before)
	}
}

// TestPrivateLinkIsolation checks that neither side reaches into the other's
// resources.
func TestPrivateLinkIsolation(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	svc := plProvider(t, env, nil, "")
	plAllow(t, env, provider, *svc.ServiceId, "arn:aws:iam::"+consumer+":root")
	cn := plNetwork(t, env, consumer, "us-east-1a")
	ep := plEndpoint(t, env, consumer, cn, *svc.ServiceName, nil, "us-east-1a")
	p, c := env.EC2(provider), env.EC2(consumer)

	_, err := c.DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{ServiceIds: []string{*svc.ServiceId}})
	netWantCode(t, err, "InvalidVpcEndpointServiceId.NotFound")
	all, err := c.DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{})
	if err != nil || len(all.ServiceConfigurations) != 0 {
		t.Fatalf("consumer configurations: %v %+v", err, all)
	}
	_, err = c.AcceptVpcEndpointConnections(ctx, &ec2.AcceptVpcEndpointConnectionsInput{ServiceId: svc.ServiceId, VpcEndpointIds: []string{*ep.VpcEndpointId}})
	netWantCode(t, err, "InvalidVpcEndpointServiceId.NotFound")
	_, err = c.ModifyVpcEndpointServicePermissions(ctx, &ec2.ModifyVpcEndpointServicePermissionsInput{ServiceId: svc.ServiceId, AddAllowedPrincipals: []string{"*"}})
	netWantCode(t, err, "InvalidVpcEndpointServiceId.NotFound")
	conns, err := c.DescribeVpcEndpointConnections(ctx, &ec2.DescribeVpcEndpointConnectionsInput{})
	if err != nil || len(conns.VpcEndpointConnections) != 0 {
		t.Fatalf("consumer connections: %v %+v", err, conns)
	}

	del, err := p.DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{*ep.VpcEndpointId}})
	if err != nil || len(del.Unsuccessful) != 1 || *del.Unsuccessful[0].Error.Code != "InvalidVpcEndpoint.NotFound" {
		t.Fatalf("provider deletes the consumer's endpoint: %v %+v", err, del)
	}
	_, err = p.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{*ep.VpcEndpointId}})
	netWantCode(t, err, "InvalidVpcEndpointId.NotFound")
	_, err = p.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, ResetPolicy: aws.Bool(true)})
	netWantCode(t, err, "InvalidVpcEndpointId.NotFound")
	plWaitEndpoint(t, env, consumer, *ep.VpcEndpointId, "pendingAcceptance")
}

// TestPrivateLinkIdempotency checks client tokens.
func TestPrivateLinkIdempotency(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	pn := plNetwork(t, env, provider, "us-east-1a")
	arn := plNLB(t, env, provider, "idem", pn.subnets["us-east-1a"])
	p := env.EC2(provider)
	in := &ec2.CreateVpcEndpointServiceConfigurationInput{NetworkLoadBalancerArns: []string{arn}, ClientToken: aws.String("token-1")}
	a, err := p.CreateVpcEndpointServiceConfiguration(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.CreateVpcEndpointServiceConfiguration(ctx, in)
	if err != nil || *a.ServiceConfiguration.ServiceId != *b.ServiceConfiguration.ServiceId || *b.ClientToken != "token-1" {
		t.Fatalf("retry: %v %v", err, b)
	}
	in.AcceptanceRequired = aws.Bool(false)
	_, err = p.CreateVpcEndpointServiceConfiguration(ctx, in)
	netWantCode(t, err, "IdempotentParameterMismatch")

	cn := plNetwork(t, env, provider, "us-east-1a")
	ein := &ec2.CreateVpcEndpointInput{VpcEndpointType: ec2types.VpcEndpointTypeInterface, VpcId: aws.String(cn.vpc),
		ServiceName: a.ServiceConfiguration.ServiceName, SubnetIds: []string{cn.subnets["us-east-1a"]}, ClientToken: aws.String("ep-1")}
	e1, err := p.CreateVpcEndpoint(ctx, ein)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := p.CreateVpcEndpoint(ctx, ein)
	if err != nil || *e1.VpcEndpoint.VpcEndpointId != *e2.VpcEndpoint.VpcEndpointId {
		t.Fatalf("endpoint retry: %v", err)
	}
	// The owner's own endpoint needs no acceptance.
	plWaitEndpoint(t, env, provider, *e1.VpcEndpoint.VpcEndpointId, "available")
	ein.SubnetIds = nil
	_, err = p.CreateVpcEndpoint(ctx, ein)
	netWantCode(t, err, "IdempotentParameterMismatch")
}

// TestPrivateLinkNotifications covers connection notifications.
func TestPrivateLinkNotifications(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	svc := plProvider(t, env, nil, "")
	p := env.EC2(provider)
	topic := "arn:aws:sns:us-east-1:" + provider + ":endpoint-events"
	n, err := p.CreateVpcEndpointConnectionNotification(ctx, &ec2.CreateVpcEndpointConnectionNotificationInput{
		ServiceId: svc.ServiceId, ConnectionNotificationArn: aws.String(topic), ConnectionEvents: []string{"Accept", "Connect"}})
	if err != nil {
		t.Fatal(err)
	}
	cn := n.ConnectionNotification
	if !strings.HasPrefix(*cn.ConnectionNotificationId, "vpce-nfn-") || cn.ConnectionNotificationState != "Enabled" || cn.ConnectionNotificationType != "Topic" {
		t.Fatalf("notification %+v", cn)
	}
	_, err = p.CreateVpcEndpointConnectionNotification(ctx, &ec2.CreateVpcEndpointConnectionNotificationInput{
		ServiceId: svc.ServiceId, ConnectionNotificationArn: aws.String("arn:aws:sqs:us-east-1:" + provider + ":q"), ConnectionEvents: []string{"Accept"}})
	netWantCode(t, err, "InvalidParameter")
	_, err = p.CreateVpcEndpointConnectionNotification(ctx, &ec2.CreateVpcEndpointConnectionNotificationInput{
		ServiceId: svc.ServiceId, ConnectionNotificationArn: aws.String(topic), ConnectionEvents: []string{"Explode"}})
	netWantCode(t, err, "InvalidParameter")
	_, err = env.EC2(consumer).CreateVpcEndpointConnectionNotification(ctx, &ec2.CreateVpcEndpointConnectionNotificationInput{
		ServiceId: svc.ServiceId, ConnectionNotificationArn: aws.String(topic), ConnectionEvents: []string{"Accept"}})
	netWantCode(t, err, "InvalidVpcEndpointServiceId.NotFound")
	if _, err := p.ModifyVpcEndpointConnectionNotification(ctx, &ec2.ModifyVpcEndpointConnectionNotificationInput{
		ConnectionNotificationId: cn.ConnectionNotificationId, ConnectionEvents: []string{"Reject"}}); err != nil {
		t.Fatal(err)
	}
	got, err := p.DescribeVpcEndpointConnectionNotifications(ctx, &ec2.DescribeVpcEndpointConnectionNotificationsInput{ConnectionNotificationId: cn.ConnectionNotificationId})
	if err != nil || len(got.ConnectionNotificationSet) != 1 || fmt.Sprint(got.ConnectionNotificationSet[0].ConnectionEvents) != "[Reject]" {
		t.Fatalf("describe: %v %+v", err, got)
	}
	none, err := env.EC2(consumer).DescribeVpcEndpointConnectionNotifications(ctx, &ec2.DescribeVpcEndpointConnectionNotificationsInput{})
	if err != nil || len(none.ConnectionNotificationSet) != 0 {
		t.Fatalf("consumer sees notifications: %v %+v", err, none)
	}
	del, err := p.DeleteVpcEndpointConnectionNotifications(ctx, &ec2.DeleteVpcEndpointConnectionNotificationsInput{
		ConnectionNotificationIds: []string{*cn.ConnectionNotificationId, "vpce-nfn-0123456789abcdef0"}})
	if err != nil || len(del.Unsuccessful) != 1 || *del.Unsuccessful[0].ResourceId != "vpce-nfn-0123456789abcdef0" {
		t.Fatalf("delete: %v %+v", err, del)
	}
}

// TestPrivateLinkTimeToAvailable measures how long an endpoint takes from
// CreateVpcEndpoint to available (median of 20).
func TestPrivateLinkTimeToAvailable(t *testing.T) {
	env := testenv.Start(t)
	svc := plProvider(t, env, aws.Bool(false), "")
	plAllow(t, env, provider, *svc.ServiceId, "arn:aws:iam::"+consumer+":root")
	cn := plNetwork(t, env, consumer, "us-east-1a")
	var took []time.Duration
	for range 20 {
		start := time.Now()
		ep := plEndpoint(t, env, consumer, cn, *svc.ServiceName, nil, "us-east-1a")
		plWaitEndpoint(t, env, consumer, *ep.VpcEndpointId, "available")
		took = append(took, time.Since(start))
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.Logf("CreateVpcEndpoint → available: median %v (min %v, max %v, n=%d)", took[len(took)/2], took[0], took[len(took)-1], len(took))
}
