package awsapi_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"strait/internal/testenv"
)

// waitInstanceState polls until an instance is in a state (at most 10 s).
func waitInstanceState(t *testing.T, c *ec2.Client, id string, state ec2types.InstanceStateName) ec2types.Instance {
	t.Helper()
	ctx := testenv.Ctx(t)
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		inst := out.Reservations[0].Instances[0]
		if inst.State.Name == state {
			return inst
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s is %s, want %s", id, inst.State.Name, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// instRun launches instances with the SDK.
func instRun(t *testing.T, c *ec2.Client, in *ec2.RunInstancesInput) *ec2.RunInstancesOutput {
	t.Helper()
	if in.ImageId == nil {
		in.ImageId = aws.String("ami-12345678")
	}
	if in.MinCount == nil {
		in.MinCount, in.MaxCount = aws.Int32(1), aws.Int32(1)
	}
	out, err := c.RunInstances(testenv.Ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// instIDs are the IDs of instances.
func instIDs(insts []ec2types.Instance) []string {
	out := make([]string, 0, len(insts))
	for _, i := range insts {
		out = append(out, *i.InstanceId)
	}
	return out
}

// TestInstancesLifecycle runs instances with the SDK, describes them with
// filters, waits with the SDK's waiters, checks their interfaces and the
// dependencies they create, terminates them and reuses their addresses.
func TestInstancesLifecycle(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	c := env.EC2(provider)
	vpc, subnets := env.Network(provider, "us-east-1a", "us-east-1b")
	sg := netCreateSG(t, c, vpc, "app")
	free := nlbFreeIPs(t, c, subnets[0])

	run := instRun(t, c, &ec2.RunInstancesInput{
		SubnetId: aws.String(subnets[0]), SecurityGroupIds: []string{sg}, MinCount: aws.Int32(1), MaxCount: aws.Int32(2),
		TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("web")}}},
			{ResourceType: ec2types.ResourceTypeNetworkInterface, Tags: []ec2types.Tag{{Key: aws.String("role"), Value: aws.String("web")}}},
		},
	})
	if len(run.Instances) != 2 || *run.OwnerId != provider || run.ReservationId == nil {
		t.Fatalf("reservation %+v", run)
	}
	for n, inst := range run.Instances {
		if inst.State.Name != ec2types.InstanceStateNamePending || *inst.State.Code != 0 || *inst.AmiLaunchIndex != int32(n) ||
			inst.InstanceType != ec2types.InstanceTypeT3Micro || *inst.SubnetId != subnets[0] || *inst.VpcId != vpc ||
			len(inst.SecurityGroups) != 1 || *inst.SecurityGroups[0].GroupId != sg || *inst.SecurityGroups[0].GroupName != "app" ||
			len(inst.NetworkInterfaces) != 1 || *inst.Placement.AvailabilityZone != "us-east-1a" {
			t.Fatalf("launched instance %d: %+v", n, inst)
		}
		want := "ip-10-0-1-" + []string{"4", "5"}[n] + ".ec2.internal"
		if *inst.PrivateIpAddress != "10.0.1."+[]string{"4", "5"}[n] || *inst.PrivateDnsName != want {
			t.Errorf("instance %d address %s, name %s", n, *inst.PrivateIpAddress, *inst.PrivateDnsName)
		}
	}
	ids := instIDs(run.Instances)
	if got := nlbFreeIPs(t, c, subnets[0]); got != free-2 {
		t.Errorf("free addresses %d after launching 2, want %d", got, free-2)
	}

	// The SDK's waiter sees them run (it polls every 15 s by default).
	err := ec2.NewInstanceRunningWaiter(c, func(o *ec2.InstanceRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 20*time.Millisecond
	}).
		Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids}, 30*time.Second)
	if err != nil {
		t.Fatalf("InstanceRunning waiter: %v", err)
	}

	// Filters.
	count := func(filters ...ec2types.Filter) int {
		t.Helper()
		out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: filters})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range out.Reservations {
			n += len(r.Instances)
		}
		return n
	}
	for _, f := range []struct {
		filters []ec2types.Filter
		want    int
	}{
		{[]ec2types.Filter{filter("vpc-id", vpc)}, 2},
		{[]ec2types.Filter{filter("subnet-id", subnets[1])}, 0},
		{[]ec2types.Filter{filter("instance-state-name", "running"), filter("tag:Name", "web")}, 2},
		{[]ec2types.Filter{filter("instance-state-name", "pending")}, 0},
		{[]ec2types.Filter{filter("private-ip-address", "10.0.1.5")}, 1},
		{[]ec2types.Filter{filter("instance-id", ids[0])}, 1},
		{[]ec2types.Filter{filter("tag-key", "Name"), filter("availability-zone", "us-east-1a")}, 2},
		{[]ec2types.Filter{filter("image-id", "ami-12345678"), filter("instance.group-name", "app")}, 2},
		{[]ec2types.Filter{filter("reservation-id", *run.ReservationId), filter("instance-state-code", "16")}, 2},
	} {
		if got := count(f.filters...); got != f.want {
			t.Errorf("filters %+v: %d instances, want %d", f.filters, got, f.want)
		}
	}
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{filter("flavor", "x")}})
	netWantCode(t, err, "InvalidParameterValue")

	// Each instance's interface is its own, attached and in use, tagged as asked.
	enis, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{filter("attachment.instance-id", ids[0])}})
	if err != nil {
		t.Fatal(err)
	}
	if len(enis.NetworkInterfaces) != 1 {
		t.Fatalf("interfaces of %s: %+v", ids[0], enis.NetworkInterfaces)
	}
	eni := enis.NetworkInterfaces[0]
	if eni.Status != ec2types.NetworkInterfaceStatusInUse || eni.InterfaceType != ec2types.NetworkInterfaceTypeInterface ||
		*eni.Attachment.InstanceId != ids[0] || *eni.Attachment.DeviceIndex != 0 || *eni.PrivateIpAddress != "10.0.1.4" ||
		*eni.NetworkInterfaceId != *run.Instances[0].NetworkInterfaces[0].NetworkInterfaceId || len(eni.TagSet) != 1 || *eni.TagSet[0].Value != "web" {
		t.Errorf("interface %+v", eni)
	}

	// What the instances use cannot be deleted.
	_, err = c.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(subnets[0])})
	netWantCode(t, err, "DependencyViolation")
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(sg)})
	netWantCode(t, err, "DependencyViolation")
	_, err = c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(vpc)})
	netWantCode(t, err, "DependencyViolation")

	// Terminate one: shutting-down, then terminated; terminating again is fine.
	term, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{ids[0]}})
	if err != nil {
		t.Fatal(err)
	}
	if len(term.TerminatingInstances) != 1 || term.TerminatingInstances[0].PreviousState.Name != ec2types.InstanceStateNameRunning ||
		term.TerminatingInstances[0].CurrentState.Name != ec2types.InstanceStateNameShuttingDown || *term.TerminatingInstances[0].CurrentState.Code != 32 {
		t.Fatalf("terminating %+v", term.TerminatingInstances)
	}
	err = ec2.NewInstanceTerminatedWaiter(c, func(o *ec2.InstanceTerminatedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 20*time.Millisecond
	}).
		Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{ids[0]}}, 30*time.Second)
	if err != nil {
		t.Fatalf("InstanceTerminated waiter: %v", err)
	}
	term, err = c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{ids[0], ids[0]}})
	if err != nil {
		t.Fatal(err)
	}
	if len(term.TerminatingInstances) != 1 || term.TerminatingInstances[0].PreviousState.Name != ec2types.InstanceStateNameTerminated ||
		*term.TerminatingInstances[0].CurrentState.Code != 48 {
		t.Errorf("terminating again %+v", term.TerminatingInstances)
	}
	gone := waitInstanceState(t, c, ids[0], ec2types.InstanceStateNameTerminated)
	if gone.PrivateIpAddress != nil || len(gone.NetworkInterfaces) != 0 || gone.StateReason == nil ||
		*gone.StateReason.Code != "Client.UserInitiatedShutdown" || gone.StateTransitionReason == nil {
		t.Errorf("terminated instance %+v", gone)
	}
	_, err = c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{*eni.NetworkInterfaceId}})
	netWantCode(t, err, "InvalidNetworkInterfaceID.NotFound")
	if got := nlbFreeIPs(t, c, subnets[0]); got != free-1 {
		t.Errorf("free addresses %d after terminating one of 2, want %d", got, free-1)
	}
	if got := count(filter("instance-state-name", "terminated")); got != 1 {
		t.Errorf("%d terminated instances listed, want 1", got)
	}

	// Its address is free again.
	again := instRun(t, c, &ec2.RunInstancesInput{SubnetId: aws.String(subnets[0]), PrivateIpAddress: aws.String("10.0.1.4")})
	if *again.Instances[0].PrivateIpAddress != "10.0.1.4" {
		t.Errorf("address %s, want 10.0.1.4 again", *again.Instances[0].PrivateIpAddress)
	}
	_, err = c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12345678"), SubnetId: aws.String(subnets[0]),
		PrivateIpAddress: aws.String("10.0.1.5"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	netWantCode(t, err, "InvalidIPAddress.InUse")

	// Once nothing uses them, the subnet and the group can go.
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{ids[1], *again.Instances[0].InstanceId}}); err != nil {
		t.Fatal(err)
	}
	waitInstanceState(t, c, ids[1], ec2types.InstanceStateNameTerminated)
	waitInstanceState(t, c, *again.Instances[0].InstanceId, ec2types.InstanceStateNameTerminated)
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(sg)}); err != nil {
		t.Errorf("deleting the group of terminated instances: %v", err)
	}
	if _, err := c.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(subnets[0])}); err != nil {
		t.Errorf("deleting the subnet of terminated instances: %v", err)
	}
}

// TestInstancesErrors checks RunInstances' and TerminateInstances' errors, the
// client token, the count bounds and another account's view.
func TestInstancesErrors(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	c := env.EC2(provider)
	vpc, subnets := env.Network(provider, "us-east-1a")
	other, _ := env.Network(provider, "us-east-1b")
	otherSG := netCreateSG(t, c, other, "elsewhere")
	small, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String("10.0.9.0/28"), AvailabilityZone: aws.String("us-east-1b")})
	if err != nil {
		t.Fatal(err)
	}
	tryRun := func(in ec2.RunInstancesInput) (*ec2.RunInstancesOutput, error) {
		if in.ImageId == nil {
			in.ImageId = aws.String("ami-12345678")
		}
		if in.MinCount == nil {
			in.MinCount, in.MaxCount = aws.Int32(1), aws.Int32(1)
		}
		return c.RunInstances(ctx, &in)
	}
	sn := aws.String(subnets[0])
	for _, tc := range []struct {
		name string
		in   ec2.RunInstancesInput
		code string
	}{
		{"malformed subnet", ec2.RunInstancesInput{SubnetId: aws.String("subnet-1")}, "InvalidSubnetID.Malformed"},
		{"unknown subnet", ec2.RunInstancesInput{SubnetId: aws.String("subnet-0123456789abcdef0")}, "InvalidSubnetID.NotFound"},
		{"image", ec2.RunInstancesInput{SubnetId: sn, ImageId: aws.String("debian")}, "InvalidAMIID.Malformed"},
		{"min count 0", ec2.RunInstancesInput{SubnetId: sn, MinCount: aws.Int32(0), MaxCount: aws.Int32(1)}, "InvalidParameterValue"},
		{"max below min", ec2.RunInstancesInput{SubnetId: sn, MinCount: aws.Int32(3), MaxCount: aws.Int32(2)}, "InvalidParameterValue"},
		{"address outside", ec2.RunInstancesInput{SubnetId: sn, PrivateIpAddress: aws.String("10.0.2.9")}, "InvalidParameterValue"},
		{"reserved address", ec2.RunInstancesInput{SubnetId: sn, PrivateIpAddress: aws.String("10.0.1.1")}, "InvalidParameterValue"},
		{"address for many", ec2.RunInstancesInput{SubnetId: sn, PrivateIpAddress: aws.String("10.0.1.9"), MinCount: aws.Int32(1), MaxCount: aws.Int32(2)}, "InvalidParameterCombination"},
		{"group of another VPC", ec2.RunInstancesInput{SubnetId: sn, SecurityGroupIds: []string{otherSG}}, "InvalidParameter"},
		{"unknown group", ec2.RunInstancesInput{SubnetId: sn, SecurityGroupIds: []string{"sg-0123456789abcdef0"}}, "InvalidGroup.NotFound"},
		{"group names", ec2.RunInstancesInput{SubnetId: sn, SecurityGroups: []string{"default"}}, "InvalidParameterCombination"},
		{"zone", ec2.RunInstancesInput{SubnetId: sn, Placement: &ec2types.Placement{AvailabilityZone: aws.String("us-east-1b")}}, "InvalidParameterValue"},
		{"volume tags", ec2.RunInstancesInput{SubnetId: sn, TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVolume,
			Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}}, "InvalidParameterValue"},
		{"interface and subnet", ec2.RunInstancesInput{SubnetId: sn, NetworkInterfaces: []ec2types.InstanceNetworkInterfaceSpecification{{DeviceIndex: aws.Int32(0), SubnetId: sn}}}, "InvalidParameterCombination"},
		{"too few addresses", ec2.RunInstancesInput{SubnetId: small.Subnet.SubnetId, MinCount: aws.Int32(12), MaxCount: aws.Int32(20)}, "InsufficientFreeAddressesInSubnet"},
	} {
		if _, err := tryRun(tc.in); netErrCode(err) != tc.code {
			t.Errorf("%s: error %v, want %s", tc.name, err, tc.code)
		}
	}

	// MaxCount is a wish: as many as the subnet has addresses for, at least MinCount.
	out, err := tryRun(ec2.RunInstancesInput{SubnetId: small.Subnet.SubnetId, MinCount: aws.Int32(2), MaxCount: aws.Int32(20)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Instances) != 11 {
		t.Errorf("launched %d instances in a /28, want 11", len(out.Instances))
	}

	// The primary interface may be given as a NetworkInterface instead.
	out, err = tryRun(ec2.RunInstancesInput{NetworkInterfaces: []ec2types.InstanceNetworkInterfaceSpecification{{
		DeviceIndex: aws.Int32(0), SubnetId: sn, PrivateIpAddress: aws.String("10.0.1.20"), Description: aws.String("primary")}}})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Instances[0].PrivateIpAddress != "10.0.1.20" || *out.Instances[0].SubnetId != subnets[0] ||
		*out.Instances[0].NetworkInterfaces[0].Description != "primary" {
		t.Errorf("launched through NetworkInterfaces: %+v", out.Instances[0])
	}

	// A client token makes a launch idempotent.
	tok := ec2.RunInstancesInput{SubnetId: sn, ClientToken: aws.String("launch-1"), MinCount: aws.Int32(2), MaxCount: aws.Int32(2)}
	first, err := tryRun(tok)
	if err != nil {
		t.Fatal(err)
	}
	second, err := tryRun(tok)
	if err != nil {
		t.Fatal(err)
	}
	if *first.ReservationId != *second.ReservationId || !slices.Equal(instIDs(first.Instances), instIDs(second.Instances)) {
		t.Errorf("same token launched again: %v then %v", instIDs(first.Instances), instIDs(second.Instances))
	}
	tok.InstanceType = ec2types.InstanceTypeT3Large
	_, err = tryRun(tok)
	netWantCode(t, err, "IdempotentParameterMismatch")

	// Pagination.
	var seen []string
	pages := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Reservations {
			seen = append(seen, instIDs(r.Instances)...)
		}
	}
	if len(seen) != 14 || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != 14 {
		t.Errorf("paged through %d instances (%v), want 14 distinct", len(seen), seen)
	}
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{seen[0]}, MaxResults: aws.Int32(5)})
	netWantCode(t, err, "InvalidParameterCombination")

	// IDs: malformed, unknown, another account's.
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-123"}})
	netWantCode(t, err, "InvalidInstanceID.Malformed")
	_, err = c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	netWantCode(t, err, "InvalidInstanceID.NotFound")
	_, err = c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{seen[0], "i-0123456789abcdef0"}})
	netWantCode(t, err, "InvalidInstanceID.NotFound")
	if got := waitInstanceState(t, c, seen[0], ec2types.InstanceStateNameRunning); got.State.Name != ec2types.InstanceStateNameRunning {
		t.Errorf("a failed TerminateInstances changed %s", seen[0])
	}
	s := env.EC2(stranger)
	_, err = s.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{seen[0]}})
	netWantCode(t, err, "InvalidInstanceID.NotFound")
	_, err = s.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{seen[0]}})
	netWantCode(t, err, "InvalidInstanceID.NotFound")
	listed, err := s.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil || len(listed.Reservations) != 0 {
		t.Errorf("another account lists %v (%v)", listed, err)
	}
	_, err = s.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12345678"), SubnetId: sn, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	netWantCode(t, err, "InvalidSubnetID.NotFound")
}

// TestInstancesCLI launches an instance with the AWS CLI, waits for it with
// `aws ec2 wait`, and terminates it.
func TestInstancesCLI(t *testing.T) {
	env := testenv.Start(t)
	_, subnets := env.Network(provider, "us-east-1a")
	out := env.AWS(provider, "ec2", "run-instances", "--image-id", "ami-12345678", "--subnet-id", subnets[0],
		"--private-ip-address", "10.0.1.50", "--tag-specifications", "ResourceType=instance,Tags=[{Key=Name,Value=cli}]")
	insts, _ := out["Instances"].([]any)
	if len(insts) != 1 {
		t.Fatalf("run-instances: %v", out)
	}
	inst := insts[0].(map[string]any)
	id, _ := inst["InstanceId"].(string)
	if state := inst["State"].(map[string]any)["Name"]; state != "pending" || inst["PrivateIpAddress"] != "10.0.1.50" {
		t.Errorf("launched %v", inst)
	}
	env.AWS(provider, "ec2", "wait", "instance-running", "--instance-ids", id)
	if got := env.AWSText(provider, "ec2", "describe-instances", "--filters", "Name=tag:Name,Values=cli",
		"--query", "Reservations[].Instances[].[InstanceId,State.Name,PrivateDnsName]"); got != id+"\trunning\tip-10-0-1-50.ec2.internal" {
		t.Errorf("describe-instances: %q", got)
	}
	term := env.AWS(provider, "ec2", "terminate-instances", "--instance-ids", id)
	changes, _ := term["TerminatingInstances"].([]any)
	if len(changes) != 1 || changes[0].(map[string]any)["CurrentState"].(map[string]any)["Name"] != "shutting-down" {
		t.Errorf("terminate-instances: %v", term)
	}
	env.AWS(provider, "ec2", "wait", "instance-terminated", "--instance-ids", id)
	// Without a subnet the instance goes to a default subnet of the default VPC; with
	// no default VPC, that is VPCIdNotSpecified.
	dsub := env.AWSText(provider, "ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true", "Name=availability-zone,Values=us-east-1a",
		"--query", "Subnets[0].SubnetId")
	did := env.AWSText(provider, "ec2", "run-instances", "--image-id", "ami-12345678", "--placement", "AvailabilityZone=us-east-1a",
		"--query", "Instances[0].[InstanceId,SubnetId]")
	if f := strings.Fields(did); len(f) != 2 || f[1] != dsub {
		t.Errorf("run-instances without a subnet: %q, want an instance in the default subnet %s", did, dsub)
	} else {
		env.AWS(provider, "ec2", "terminate-instances", "--instance-ids", f[0])
		env.AWS(provider, "ec2", "wait", "instance-terminated", "--instance-ids", f[0])
	}
	deleteDefaultVpc(t, env, provider)
	if stderr := env.AWSError(provider, "ec2", "run-instances", "--image-id", "ami-12345678"); !strings.Contains(stderr, "VPCIdNotSpecified") {
		t.Errorf("run-instances without a subnet or default VPC: %s", stderr)
	}
}
