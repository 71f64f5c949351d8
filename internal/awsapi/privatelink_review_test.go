package awsapi_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"strait/internal/testenv"
)

// plRacingModifies runs the modifications of an endpoint at once and returns how
// many succeeded.
func plRacingModifies(t *testing.T, env *testenv.Env, id string, ins []ec2.ModifyVpcEndpointInput) int {
	t.Helper()
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok int
	)
	start := make(chan struct{})
	for i := range ins {
		in := ins[i]
		in.VpcEndpointId = aws.String(id)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := env.EC2(consumer).ModifyVpcEndpoint(testenv.Ctx(t), &in); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	return ok
}

// plCheckEndpointZones checks that an endpoint has one subnet and one interface
// per zone, and that its VPC holds no other endpoint interface.
func plCheckEndpointZones(t *testing.T, env *testenv.Env, n plNet, id string, subnets int) {
	t.Helper()
	c := env.EC2(consumer)
	out, err := c.DescribeVpcEndpoints(testenv.Ctx(t), &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	ep := out.VpcEndpoints[0]
	enis, err := c.DescribeNetworkInterfaces(testenv.Ctx(t), &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{n.vpc}}, {Name: aws.String("interface-type"), Values: []string{"vpc_endpoint"}}}})
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]bool{}
	for _, e := range enis.NetworkInterfaces {
		zones[*e.AvailabilityZone] = true
	}
	if len(ep.SubnetIds) != subnets || len(ep.NetworkInterfaceIds) != subnets || len(enis.NetworkInterfaces) != subnets || len(zones) != subnets {
		t.Fatalf("endpoint subnets %v interfaces %v; VPC endpoint interfaces %d in zones %v; want %d of each",
			ep.SubnetIds, ep.NetworkInterfaceIds, len(enis.NetworkInterfaces), zones, subnets)
	}
}

// TestPrivateLinkConcurrentModifySubnets races ModifyVpcEndpoint calls on one
// endpoint: adding subnets of one zone at once must leave one interface in that
// zone, and removing its subnets at once must leave at least one.
func TestPrivateLinkConcurrentModifySubnets(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	svc := plProvider(t, env, aws.Bool(false), "")
	plAllow(t, env, provider, *svc.ServiceId, "arn:aws:iam::"+consumer+":root")
	cn := plNetwork(t, env, consumer, "us-east-1a", "us-east-1b")
	extra, err := env.EC2(consumer).CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(cn.vpc), CidrBlock: aws.String("10.0.9.0/24"), AvailabilityZone: aws.String("us-east-1b")})
	if err != nil {
		t.Fatal(err)
	}
	ep := plEndpoint(t, env, consumer, cn, *svc.ServiceName, nil, "us-east-1a")
	var adds []ec2.ModifyVpcEndpointInput
	for i := range 8 {
		s := cn.subnets["us-east-1b"]
		if i%2 == 1 {
			s = *extra.Subnet.SubnetId
		}
		adds = append(adds, ec2.ModifyVpcEndpointInput{AddSubnetIds: []string{s}})
	}
	if ok := plRacingModifies(t, env, *ep.VpcEndpointId, adds); ok != 1 {
		t.Errorf("%d concurrent additions in one zone succeeded, want 1", ok)
	}
	plCheckEndpointZones(t, env, cn, *ep.VpcEndpointId, 2)

	out, err := env.EC2(consumer).DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{*ep.VpcEndpointId}})
	if err != nil {
		t.Fatal(err)
	}
	var removes []ec2.ModifyVpcEndpointInput
	for i := range 8 {
		removes = append(removes, ec2.ModifyVpcEndpointInput{RemoveSubnetIds: []string{out.VpcEndpoints[0].SubnetIds[i%2]}})
	}
	if ok := plRacingModifies(t, env, *ep.VpcEndpointId, removes); ok != 1 {
		t.Errorf("%d concurrent removals succeeded, want 1", ok)
	}
	plCheckEndpointZones(t, env, cn, *ep.VpcEndpointId, 1)
}

// TestPrivateLinkSecurityGroupDeleteRace races DeleteSecurityGroup with
// ModifyVpcEndpoint adding that group: whichever wins, the endpoint never refers
// to a group that no longer exists.
func TestPrivateLinkSecurityGroupDeleteRace(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	svc := plProvider(t, env, aws.Bool(false), "")
	plAllow(t, env, provider, *svc.ServiceId, "arn:aws:iam::"+consumer+":root")
	cn := plNetwork(t, env, consumer, "us-east-1a")
	ep := plEndpoint(t, env, consumer, cn, *svc.ServiceName, nil, "us-east-1a")
	c := env.EC2(consumer)
	for i := range 30 {
		g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(cn.vpc), GroupName: aws.String(fmt.Sprintf("race-%d", i)), Description: aws.String("race")})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, _ = c.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, AddSecurityGroupIds: []string{*g.GroupId}})
		}()
		go func() {
			defer wg.Done()
			_, _ = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: g.GroupId})
		}()
		wg.Wait()
		out, err := c.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{*ep.VpcEndpointId}})
		if err != nil {
			t.Fatal(err)
		}
		for _, eg := range out.VpcEndpoints[0].Groups {
			if _, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*eg.GroupId}}); err != nil {
				t.Fatalf("round %d: the endpoint refers to %s: %v", i, *eg.GroupId, err)
			}
		}
		if _, err := c.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, RemoveSecurityGroupIds: []string{*g.GroupId}}); err == nil {
			if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: g.GroupId}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestDescribeVpcsLegacyIsDefault checks the legacy filter name isDefault, which
// Terraform's aws_vpc data source sends for `default = true` (EC2 accepts it
// beside is-default).
func TestDescribeVpcsLegacyIsDefault(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	vpc, _ := env.Network(provider)
	c := env.EC2(provider)
	for value, want := range map[string]int{"true": 0, "false": 1} {
		out, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpc}, Filters: []ec2types.Filter{{Name: aws.String("isDefault"), Values: []string{value}}}})
		if err != nil {
			t.Fatalf("isDefault=%s: %v", value, err)
		}
		if len(out.Vpcs) != want {
			t.Errorf("isDefault=%s: %d VPCs, want %d", value, len(out.Vpcs), want)
		}
	}
}
