// Package e2e runs the vendor guides against a server with the netns data plane:
// real namespaces, real nftables rules, real MariaDB, the real AWS CLI, and real
// traffic from consumer instances through endpoints and load balancers to targets.
// The tests need root; under STRAIT_E2E=1 (CI) they fail instead of skipping.
package e2e_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"strait/internal/testenv"
)

const (
	providerAcct = "111111111111"
	consumerAcct = "222222222222"
	imageID      = "ami-0abcdef1234567890"
)

// cli is the AWS CLI as one account, printing text output.
type cli struct {
	t    *testing.T
	env  *testenv.Env
	acct string
}

func (c cli) run(args ...string) string {
	c.t.Helper()
	return c.env.AWSText(c.acct, args...)
}

// wait polls a text query until it prints want.
func (c cli) wait(want string, timeout time.Duration, args ...string) {
	c.t.Helper()
	testenv.Eventually(c.t, timeout, "aws "+strings.Join(args, " "), func() error {
		if got := c.env.AWSText(c.acct, args...); got != want {
			return fmt.Errorf("got %q, want %q", got, want)
		}
		return nil
	})
}

// network creates a VPC with one subnet per zone suffix (10.0.1.0/24 in a, …).
func (c cli) network(cidr string, zones ...string) (string, []string) {
	c.t.Helper()
	vpc := c.run("ec2", "create-vpc", "--cidr-block", cidr, "--query", "Vpc.VpcId")
	c.run("ec2", "modify-vpc-attribute", "--vpc-id", vpc, "--enable-dns-hostnames")
	var subnets []string
	for i, z := range zones {
		subnets = append(subnets, c.run("ec2", "create-subnet", "--vpc-id", vpc, "--cidr-block", fmt.Sprintf("10.0.%d.0/24", i+1),
			"--availability-zone", "us-east-1"+z, "--query", "Subnet.SubnetId"))
	}
	return vpc, subnets
}

// instance runs an instance and waits until it is running; it returns its ID and IP.
func (c cli) instance(subnet string, extra ...string) (string, string) {
	c.t.Helper()
	args := append([]string{"ec2", "run-instances", "--image-id", imageID, "--subnet-id", subnet, "--query", "Instances[0].[InstanceId,PrivateIpAddress]"}, extra...)
	f := strings.Fields(c.run(args...))
	if len(f) != 2 {
		c.t.Fatalf("run-instances printed %q", f)
	}
	c.wait("running", 30*time.Second, "ec2", "describe-instances", "--instance-ids", f[0], "--query", "Reservations[0].Instances[0].State.Name")
	return f[0], f[1]
}
