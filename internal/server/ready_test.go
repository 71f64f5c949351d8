package server_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	mdns "github.com/miekg/dns"

	"strait/internal/agent/netns"
	"strait/internal/server"
	"strait/internal/testenv"
)

// TestHealthzAfterRestartMeansRealized restarts a netns server whose store holds a
// VPC with an instance and a load balancer with a listener. At the first 200 from
// /healthz after the restart, a client in the instance must get its answer at
// once: the VPC's resolver answers the load balancer's name, and the load
// balancer's listener accepts. (Before, /healthz said 200 as soon as the store
// answered, about a second before the resolvers were back.)
func TestHealthzAfterRestartMeansRealized(t *testing.T) {
	const acct = "111111111111"
	dir := t.TempDir()
	env := testenv.StartNetns(t, server.Config{DataDir: dir})
	ctx := testenv.Ctx(t)
	vpc, subnets := env.Network(acct, "us-east-1a")
	inst, _ := env.RunInstance(acct, subnets[0])
	elb := env.ELB(acct)
	lb, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("ready"), Type: elbtypes.LoadBalancerTypeEnumNetwork,
		Scheme: elbtypes.LoadBalancerSchemeEnumInternal, Subnets: subnets})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("ready"), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(7000), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn,
		Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(7000), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward,
			TargetGroupArn: tg.TargetGroups[0].TargetGroupArn}}}); err != nil {
		t.Fatal(err)
	}
	name := *lb.LoadBalancers[0].DNSName
	reach := func(timeout time.Duration) error {
		ip, err := resolveIn(inst, name, timeout)
		if err != nil {
			return fmt.Errorf("resolving %s at the VPC resolver: %w", name, err)
		}
		c, err := testenv.DialFrom(t, inst, net.JoinHostPort(ip, "7000"), timeout)
		if err != nil {
			return fmt.Errorf("connecting to the listener at %s:7000: %w", ip, err)
		}
		c.Close()
		return nil
	}
	testenv.Eventually(t, 2*time.Minute, "the load balancer reachable by name", func() error { return reach(5 * time.Second) })

	env.Stop()
	env = testenv.StartNetns(t, server.Config{DataDir: dir})
	testenv.Eventually(t, 2*time.Minute, "/healthz 200 after the restart", func() error {
		if code := env.Healthz(); code != http.StatusOK {
			return fmt.Errorf("status %d", code)
		}
		return nil
	})
	// One attempt, with time to answer on a loaded machine: refused means not there.
	if err := reach(10 * time.Second); err != nil {
		t.Fatalf("/healthz said ready, but: %v", err)
	}
}

// resolveIn asks the VPC resolver (10.0.0.2, the base of the test VPC's CIDR plus
// two) for name's address, from inside an instance, once.
func resolveIn(instance, name string, timeout time.Duration) (string, error) {
	var ip string
	err := netns.InInstance(instance, func() error {
		m := new(mdns.Msg)
		m.SetQuestion(mdns.Fqdn(name), mdns.TypeA)
		r, _, err := (&mdns.Client{Timeout: timeout}).Exchange(m, "10.0.0.2:53")
		if err != nil {
			return err
		}
		for _, rr := range r.Answer {
			if a, ok := rr.(*mdns.A); ok {
				ip = a.A.String()
				return nil
			}
		}
		return fmt.Errorf("no address in the answer: %s", strings.Join(strings.Fields(r.String()), " "))
	})
	return ip, err
}

// TestStartChecksBeforeTouching: what can keep a server from running is found
// before it changes anything. Without the data plane's prerequisites the data
// directory is not even created; a second server on a data directory in use
// says so, also when it was given the first one's address.
func TestStartChecksBeforeTouching(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	t.Run("prerequisites", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir()) // no ip, no nft
		_, err := server.Start(testenv.Ctx(t), server.Config{DataDir: dir, Listen: "127.0.0.1:0", Dataplane: "netns"})
		if !errors.Is(err, netns.ErrNeedRoot) {
			t.Fatalf("Start without ip and nft: %v", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the data directory was created (%v) before the check failed", err)
		}
	})
	t.Run("data directory in use", func(t *testing.T) {
		first := testenv.StartConfig(t, server.Config{DataDir: dir})
		for _, listen := range []string{first.Server.Addr(), "127.0.0.1:0"} {
			_, err := server.Start(testenv.Ctx(t), server.Config{DataDir: dir, Listen: listen})
			if err == nil || !strings.Contains(err.Error(), "another strait server is running on data directory "+dir) {
				t.Errorf("second server on %s: %v", listen, err)
			}
		}
		first.WaitReady() // the first one is untouched
		first.Stop()
		again := testenv.StartConfig(t, server.Config{DataDir: dir})
		again.WaitReady()
	})
}
