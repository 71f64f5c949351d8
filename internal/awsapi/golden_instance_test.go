package awsapi_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"strait/internal/testenv"
)

// goldenInstances launches, describes and terminates instances in a VPC of their
// own (10.0.0.0/16 with the subnet 10.0.1.0/24 in us-east-1a, and a /28 that is
// too small) and the group app, using db_sg of the provider's main VPC to show a cross-VPC group.
// Multi-instance reservations are described only through one of their instances,
// so that the order of random IDs does not matter.
func goldenInstances() []goldenStep {
	ec2Step := func(name, action string, params map[string]string) goldenStep {
		return goldenStep{Name: name, Service: "ec2", Account: provider, Action: action, Params: params}
	}
	fail := func(s goldenStep) goldenStep { s.Status = 400; return s }
	capture := func(s goldenStep, c map[string]string) goldenStep { s.Capture = c; return s }
	before := func(s goldenStep, f func(*testing.T, *testenv.Env, map[string]string)) goldenStep {
		s.Before = f
		return s
	}
	asConsumer := func(s goldenStep) goldenStep { s.Account = consumer; return s }
	run := map[string]string{
		"ImageId": "ami-12345678", "InstanceType": "t3.small", "SubnetId": "{{inst_subnet}}", "MinCount": "1", "MaxCount": "1",
		"PrivateIpAddress": "10.0.1.10", "ClientToken": "golden-run-1", "KeyName": "ops", "SecurityGroupId.1": "{{inst_sg}}",
		"TagSpecification.1.ResourceType": "instance", "TagSpecification.1.Tag.1.Key": "Name", "TagSpecification.1.Tag.1.Value": "db",
		"TagSpecification.2.ResourceType": "network-interface", "TagSpecification.2.Tag.1.Key": "Name", "TagSpecification.2.Tag.1.Value": "db-eni",
	}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(out, kv[i])
			} else {
				out[kv[i]] = kv[i+1]
			}
		}
		return out
	}
	return []goldenStep{
		capture(ec2Step("CreateVpc.instances", "CreateVpc", map[string]string{"CidrBlock": "10.0.0.0/16"}), map[string]string{"inst_vpc": "vpcId"}),
		capture(ec2Step("CreateSubnet.instances", "CreateSubnet", map[string]string{"VpcId": "{{inst_vpc}}", "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "us-east-1a"}),
			map[string]string{"inst_subnet": "subnetId"}),
		capture(ec2Step("CreateSubnet.instances-small", "CreateSubnet", map[string]string{"VpcId": "{{inst_vpc}}", "CidrBlock": "10.0.2.0/28", "AvailabilityZone": "us-east-1b"}),
			map[string]string{"inst_small_subnet": "subnetId"}),
		capture(ec2Step("CreateSecurityGroup.instances", "CreateSecurityGroup", map[string]string{"VpcId": "{{inst_vpc}}", "GroupName": "app", "GroupDescription": "app servers"}),
			map[string]string{"inst_sg": "groupId"}),

		capture(ec2Step("RunInstances", "RunInstances", run), map[string]string{"inst": "instanceId", "inst_eni": "networkInterfaceId"}),
		before(ec2Step("RunInstances.idempotent", "RunInstances", run), waitInstance("inst", "running")),
		ec2Step("RunInstances.count", "RunInstances", map[string]string{"ImageId": "ami-0abcdef1234567890", "SubnetId": "{{inst_subnet}}",
			"MinCount": "2", "MaxCount": "3"}),
		fail(ec2Step("RunInstances.error-idempotent-mismatch", "RunInstances", with(run, "InstanceType", "t3.large"))),
		fail(ec2Step("RunInstances.error-ip-in-use", "RunInstances", with(run, "ClientToken", ""))),
		fail(ec2Step("RunInstances.error-ip-outside-subnet", "RunInstances", with(run, "ClientToken", "", "PrivateIpAddress", "10.0.9.9"))),
		fail(ec2Step("RunInstances.error-group-other-vpc", "RunInstances", map[string]string{"ImageId": "ami-12345678", "SubnetId": "{{inst_subnet}}",
			"MinCount": "1", "MaxCount": "1", "SecurityGroupId.1": "{{db_sg}}"})),
		fail(ec2Step("RunInstances.error-insufficient-addresses", "RunInstances", map[string]string{"ImageId": "ami-12345678", "SubnetId": "{{inst_small_subnet}}",
			"MinCount": "12", "MaxCount": "12"})),
		fail(ec2Step("RunInstances.error-image", "RunInstances", map[string]string{"ImageId": "debian-12", "SubnetId": "{{inst_subnet}}", "MinCount": "1", "MaxCount": "1"})),
		fail(asConsumer(ec2Step("RunInstances.error-other-account-subnet", "RunInstances", map[string]string{"ImageId": "ami-12345678", "SubnetId": "{{inst_subnet}}",
			"MinCount": "1", "MaxCount": "1"}))),

		ec2Step("DescribeInstances", "DescribeInstances", map[string]string{"InstanceId.1": "{{inst}}"}),
		ec2Step("DescribeInstances.filters", "DescribeInstances", map[string]string{
			"Filter.1.Name": "vpc-id", "Filter.1.Value.1": "{{inst_vpc}}",
			"Filter.2.Name": "instance-state-name", "Filter.2.Value.1": "pending", "Filter.2.Value.2": "running",
			"Filter.3.Name": "private-ip-address", "Filter.3.Value.1": "10.0.1.5",
			"Filter.4.Name": "image-id", "Filter.4.Value.1": "ami-0abcdef1234567890"}),
		ec2Step("DescribeInstances.tag", "DescribeInstances", map[string]string{"Filter.1.Name": "tag:Name", "Filter.1.Value.1": "db"}),
		fail(ec2Step("DescribeInstances.error-ids-and-max-results", "DescribeInstances", map[string]string{"InstanceId.1": "{{inst}}", "MaxResults": "5"})),
		fail(ec2Step("DescribeInstances.error-malformed", "DescribeInstances", map[string]string{"InstanceId.1": "i-xyz"})),
		fail(asConsumer(ec2Step("DescribeInstances.error-other-account", "DescribeInstances", map[string]string{"InstanceId.1": "{{inst}}"}))),
		ec2Step("DescribeNetworkInterfaces.instance", "DescribeNetworkInterfaces", map[string]string{"Filter.1.Name": "attachment.instance-id", "Filter.1.Value.1": "{{inst}}"}),
		fail(ec2Step("DeleteSubnet.error-instances", "DeleteSubnet", map[string]string{"SubnetId": "{{inst_subnet}}"})),
		fail(ec2Step("DeleteSecurityGroup.error-instances", "DeleteSecurityGroup", map[string]string{"GroupId": "{{inst_sg}}"})),

		ec2Step("TerminateInstances", "TerminateInstances", map[string]string{"InstanceId.1": "{{inst}}"}),
		before(ec2Step("TerminateInstances.terminated", "TerminateInstances", map[string]string{"InstanceId.1": "{{inst}}"}), waitInstance("inst", "terminated")),
		ec2Step("DescribeInstances.terminated", "DescribeInstances", map[string]string{"Filter.1.Name": "instance-id", "Filter.1.Value.1": "{{inst}}"}),
		fail(ec2Step("DescribeNetworkInterfaces.error-instance-terminated", "DescribeNetworkInterfaces", map[string]string{"NetworkInterfaceId.1": "{{inst_eni}}"})),
		fail(asConsumer(ec2Step("TerminateInstances.error-other-account", "TerminateInstances", map[string]string{"InstanceId.1": "{{inst}}"}))),
		fail(ec2Step("TerminateInstances.error-malformed", "TerminateInstances", map[string]string{"InstanceId.1": "instance-1"})),
		ec2Step("RunInstances.address-reused", "RunInstances", with(run, "ClientToken", "golden-run-2")),
	}
}

// waitInstance is a Before hook that waits until the captured instance is in a
// state.
func waitInstance(capture, state string) func(*testing.T, *testenv.Env, map[string]string) {
	return func(t *testing.T, env *testenv.Env, captures map[string]string) {
		t.Helper()
		ctx := testenv.Ctx(t)
		id := captures[capture]
		deadline := time.Now().Add(time.Minute)
		for {
			out, err := env.EC2(provider).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
			if err != nil {
				t.Fatal(err)
			}
			got := string(out.Reservations[0].Instances[0].State.Name)
			if got == state {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance %s is %s, want %s", id, got, state)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
