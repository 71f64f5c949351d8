package e2e_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"strait/internal/server"
	"strait/internal/testenv"
)

// TestDefaultVpcCarriesTraffic: an account's default VPC
// (https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html) is realized
// like any VPC. Two instances launched without a subnet land in default subnets of
// two zones (172.31.0.0/20 and 172.31.16.0/20), run, resolve each other's names
// through the VPC's resolver (DNS hostnames are on in a default VPC) and talk over
// TCP, as the default security group admits its own members.
func TestDefaultVpcCarriesTraffic(t *testing.T) {
	env := testenv.StartNetns(t, server.Config{})
	p := cli{t, env, providerAcct}
	launch := func(zone string) (string, string) {
		t.Helper()
		f := strings.Fields(p.run("ec2", "run-instances", "--image-id", imageID, "--placement", "AvailabilityZone=us-east-1"+zone,
			"--query", "Instances[0].[InstanceId,PrivateIpAddress,PrivateDnsName]"))
		if len(f) != 3 {
			t.Fatalf("run-instances printed %q", f)
		}
		p.wait("running", 30*time.Second, "ec2", "describe-instances", "--instance-ids", f[0], "--query", "Reservations[0].Instances[0].State.Name")
		return f[0], f[2]
	}
	a, _ := launch("a")
	b, bName := launch("b")
	if got := p.run("ec2", "describe-instances", "--instance-ids", a, b, "--query", "Reservations[].Instances[].PrivateIpAddress"); !strings.HasPrefix(got, "172.31.") {
		t.Fatalf("instances without a subnet: addresses %q, want the default VPC's", got)
	}
	out, _, code := testenv.Exec(t, a, "getent", "hosts", bName)
	if code != 0 {
		t.Fatalf("getent hosts %s in the default VPC: exit %d %q", bName, code, out)
	}
	bIP := strings.Fields(out)[0]
	ln := testenv.ListenIn(t, b, ":7000")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go lineServer(c, "b")
		}
	}()
	if got, err := ask(t, a, fmt.Sprintf("%s:7000", bIP), "hello"); err != nil || got != "b hello" {
		t.Fatalf("from a to b in the default VPC: %q, %v", got, err)
	}
}
