package e2e_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"strait/internal/agent/netns"
	"strait/internal/nativeapi"
	"strait/internal/testenv"
)

// nsInode is the inode of a namespace's bind mount (the namespace's identity);
// 0 when it does not exist.
func nsInode(name string) uint64 {
	var st syscall.Stat_t
	if err := syscall.Stat("/var/run/netns/"+name, &st); err != nil {
		return 0
	}
	return st.Ino
}

// instanceState is an instance's API state.
func instanceState(t *testing.T, c *ec2.Client, id string) ec2types.InstanceStateName {
	t.Helper()
	d, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	check(t, err)
	return d.Reservations[0].Instances[0].State.Name
}

// TestHostServesItsZone runs a `strait server` process with an agent listener
// and a `strait agent` process serving us-east-1b on the same machine (its
// namespaces carry its own tag). An instance in us-east-1b is realized by the
// agent only: it stays pending while the agent is stopped (though an instance
// in us-east-1a launched after it is running already) and becomes running
// once the agent has it; its namespace is under the agent's tag, the 1a
// instance's under the server's, and `strait exec` reaches it. The health an
// NLB node on the agent's host sees of it reaches the API. Killed with
// SIGKILL, the agent's host is unreachable and the instance stays running;
// restarted, the agent re-adopts the same namespace. Terminated, the
// instance's namespace goes from the agent's host. `strait down` for both data
// directories leaves nothing.
func TestHostServesItsZone(t *testing.T) {
	env := testenv.StartProcess(t, testenv.ProcessConfig{Dataplane: "netns", AgentListener: true})
	cli := hostCLI{t: t, env: env}
	token := cli.run(false, "host", "token", "create", "--ttl", "30m")
	agentDir := filepath.Join(t.TempDir(), "agent")
	agentArgs := []string{"--zones", "us-east-1b", "--data-dir", agentDir}
	agent := env.Proc.StartAgent(t, append([]string{"--token", token}, agentArgs...)...)
	cli.waitHost("the host to be ready", func(h nativeapi.Host) bool { return h.State == "ready" })
	serverTag, agentTag := netns.TagFor(env.DataDir), netns.TagFor(agentDir)
	if serverTag == agentTag {
		t.Fatalf("server and agent share the tag %s", serverTag)
	}
	ns := func(tag, id string) string { return "strait-" + tag + "-" + id }

	ctx := context.Background()
	l := &link{t: t, env: env, ctx: ctx, pec2: env.EC2(providerAcct)}
	vpc, subnets := l.network(l.pec2, "a", "b")

	// The agent stopped: the 1b instance waits for it, while a 1a instance
	// launched after it (so in every desired state that has the 1a one) runs.
	agent.Stop()
	run, err := l.pec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(imageID), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnets[1])})
	check(t, err)
	ib, ipb := *run.Instances[0].InstanceId, *run.Instances[0].PrivateIpAddress
	ia, _ := l.instance(l.pec2, subnets[0])
	if st := instanceState(t, l.pec2, ib); st != ec2types.InstanceStateNamePending {
		t.Fatalf("the 1b instance is %s while its host's agent is stopped, want pending", st)
	}
	if nsInode(ns(agentTag, ib)) != 0 || nsInode(ns(serverTag, ib)) != 0 {
		t.Fatal("the 1b instance has a namespace while its host's agent is stopped")
	}

	agent = env.Proc.StartAgent(t, agentArgs...)
	testenv.Eventually(t, 2*time.Minute, "the 1b instance running", func() error {
		if st := instanceState(t, l.pec2, ib); st != ec2types.InstanceStateNameRunning {
			return fmt.Errorf("state %s", st)
		}
		return nil
	})
	for _, c := range []struct {
		name string
		want bool
	}{
		{ns(agentTag, ib), true}, {ns(serverTag, ib), false},
		{ns(serverTag, ia), true}, {ns(agentTag, ia), false},
		{ns(agentTag, vpc), true}, {ns(serverTag, vpc), true},
	} {
		if got := nsInode(c.name) != 0; got != c.want {
			t.Errorf("namespace %s exists: %v, want %v", c.name, got, c.want)
		}
	}
	out, err := exec.Command(env.Proc.Bin, "exec", ib, "--", "ip", "-4", "-o", "addr", "show").CombinedOutput()
	if err != nil || !strings.Contains(string(out), " "+ipb+"/") {
		t.Fatalf("strait exec %s -- ip addr: %v\n%s", ib, err, out)
	}
	// Target health as the host's load balancer node sees it reaches the
	// API: an NLB in us-east-1b (its node on the agent's host) checks the
	// 1b instance.
	elb := env.ELB(providerAcct)
	sgs, err := l.pec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("group-name"), Values: []string{"default"}}}})
	check(t, err)
	_, err = l.pec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sgs.SecurityGroups[0].GroupId,
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(servicePort), ToPort: aws.Int32(servicePort), CidrIp: aws.String("10.0.0.0/16")})
	check(t, err)
	lb, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("hosts"), Scheme: elbtypes.LoadBalancerSchemeEnumInternal,
		Type: elbtypes.LoadBalancerTypeEnumNetwork, Subnets: subnets[1:]})
	check(t, err)
	tg, err := elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("hosts"), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(servicePort), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumInstance,
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)})
	check(t, err)
	l.tg = *tg.TargetGroups[0].TargetGroupArn
	l.elb = elb
	_, err = elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(servicePort), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(l.tg)}}})
	check(t, err)
	ln := testenv.ListenIn(t, ib, fmt.Sprintf(":%d", servicePort))
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, err = elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(l.tg), Targets: []elbtypes.TargetDescription{{Id: aws.String(ib)}}})
	check(t, err)
	l.waitHealth(elbtypes.TargetHealthStateEnumHealthy, 2*time.Minute)
	ln.Close()
	l.waitHealth(elbtypes.TargetHealthStateEnumUnhealthy, 2*time.Minute)

	if out, err := exec.Command(env.Proc.Bin, "down", "--data-dir", agentDir).CombinedOutput(); err == nil || !strings.Contains(string(out), "stop it first") {
		t.Fatalf("strait down on a running agent's data dir: %v\n%s", err, out)
	}

	// kill -9: the host is unreachable, the instance keeps its state and its namespace.
	before := nsInode(ns(agentTag, ib))
	agent.Kill()
	cli.waitHost("the killed host to be unreachable", func(h nativeapi.Host) bool { return h.State == "unreachable" })
	if st := instanceState(t, l.pec2, ib); st != ec2types.InstanceStateNameRunning {
		t.Fatalf("the 1b instance is %s while its host is unreachable, want running", st)
	}
	// Restarted: it re-adopts the same namespace.
	agent = env.Proc.StartAgent(t, agentArgs...)
	cli.waitHost("the restarted host to be ready", func(h nativeapi.Host) bool { return h.State == "ready" })
	testenv.Eventually(t, 2*time.Minute, "the restarted agent to apply its part", func() error {
		if !strings.Contains(agent.Log(), "applied the host's part") {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	if after := nsInode(ns(agentTag, ib)); after != before {
		t.Fatalf("the 1b instance's namespace after the restart: inode %d, before %d (want the same one)", after, before)
	}
	if name, err := netns.InstanceNamespace(ib); err != nil || name != ns(agentTag, ib) {
		t.Fatalf("the 1b instance's namespaces: %q, %v", name, err)
	}

	// Terminated: its namespace goes from the agent's host.
	_, err = l.pec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{ib}})
	check(t, err)
	testenv.Eventually(t, 2*time.Minute, "the 1b instance terminated and its namespace gone", func() error {
		if nsInode(ns(agentTag, ib)) != 0 {
			return fmt.Errorf("namespace %s still there", ns(agentTag, ib))
		}
		if st := instanceState(t, l.pec2, ib); st != ec2types.InstanceStateNameTerminated {
			return fmt.Errorf("state %s", st)
		}
		return nil
	})

	// Stopped, both leave their namespaces; strait down removes them all.
	agent.Stop()
	env.Stop()
	for _, dir := range []string{agentDir, env.DataDir} {
		out, err := exec.Command(env.Proc.Bin, "down", "--data-dir", dir).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "removed ") {
			t.Fatalf("strait down --data-dir %s: %v\n%s", dir, err, out)
		}
		tag := netns.TagFor(dir)
		if left := testenv.Namespaces(t, tag); len(left) > 0 {
			t.Errorf("after strait down --data-dir %s: %v left", dir, left)
		}
		if entries, _ := os.ReadDir("/etc/netns"); len(entries) > 0 {
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "strait-"+tag+"-") {
					t.Errorf("after strait down: /etc/netns/%s left", e.Name())
				}
			}
		}
	}
}
