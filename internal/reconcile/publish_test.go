package reconcile_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"

	"strait/internal/control"
	"strait/internal/control/published"
	"strait/internal/model"
	"strait/internal/reconcile"
	"strait/internal/testenv"
)

const (
	provider = "111111111111"
	consumer = "222222222222"
	other    = "333333333333"
)

// waitState waits until the service's PrivateLink resource reaches state (or is
// gone, for state "").
func waitState(t *testing.T, ctl *control.Control, name, state string) model.PublishedService {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		svc, err := ctl.PublishedService(testenv.Ctx(t), provider, name)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if svc.PrivateLink != nil {
			got = svc.PrivateLink.State
		}
		if got == state {
			return svc
		}
		if time.Now().After(deadline) {
			t.Fatalf("PrivateLink of %s: state %q, want %q (%+v)", name, got, state, svc.PrivateLink)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func listenerPorts(t *testing.T, env *testenv.Env, lbARN string) []int32 {
	t.Helper()
	out, err := env.ELB(provider).DescribeListeners(testenv.Ctx(t), &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)})
	if err != nil {
		t.Fatal(err)
	}
	var ports []int32
	for _, l := range out.Listeners {
		ports = append(ports, *l.Port)
	}
	slices.Sort(ports)
	return ports
}

// TestPublishGuide003 runs guide 003's provider flow through the control
// operations and checks what the reconciler creates with the AWS SDK.
func TestPublishGuide003(t *testing.T) {
	env := testenv.Start(t)
	ctl := env.Server.Control()
	ctx := testenv.Ctx(t)
	vpc, subnets := env.Network(provider, testenv.Zones(3)...)
	cvpc, csubnets := env.Network(consumer, testenv.Zones(3)...)

	svc, err := ctl.CreatePublishedService(ctx, provider, published.CreatePublishedServiceInput{
		Name: "my-kafka", VpcID: vpc,
		Components: []model.Component{
			{Name: "kafka", Port: 9092, Targets: []string{"10.0.1.10", "10.0.2.10:19092"}},
			{Name: "kafka_connect", Port: 8083, Targets: []string{"10.0.1.11"}},
			{Name: "schema_registry", Port: 8081, Targets: []string{"10.0.1.12:8081"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(svc.SubnetIDs, subnets) {
		t.Errorf("default subnets %v, want %v", svc.SubnetIDs, subnets)
	}
	if svc.Components[2].Targets[0] != "10.0.1.12" {
		t.Errorf("target not normalized: %v", svc.Components[2].Targets)
	}
	if _, err := ctl.CreatePrivateLink(ctx, provider, "my-kafka", published.CreatePrivateLinkInput{Principals: []string{"arn:aws:iam::" + consumer + ":user/mwf", "arn:aws:iam::" + other + ":root"}}); err != nil {
		t.Fatal(err)
	}
	svc = waitState(t, ctl, "my-kafka", model.PrivateLinkActive)
	pl := svc.PrivateLink
	if !model.ValidID(model.PrefixService, pl.ServiceID) || pl.ServiceName != "com.amazonaws.vpce.us-east-1."+pl.ServiceID {
		t.Fatalf("service ID %q name %q", pl.ServiceID, pl.ServiceName)
	}
	lbs, err := env.ELB(provider).DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"strait-my-kafka"}})
	if err != nil || *lbs.LoadBalancers[0].LoadBalancerArn != pl.LoadBalancerARN || lbs.LoadBalancers[0].Scheme != "internal" || len(lbs.LoadBalancers[0].AvailabilityZones) != 3 {
		t.Fatalf("load balancer: %v %+v", err, lbs)
	}
	if ports := listenerPorts(t, env, pl.LoadBalancerARN); len(ports) != 0 {
		t.Errorf("listeners before any access: %v", ports)
	}

	// The consumer finds the service by name and connects.
	c := env.EC2(consumer)
	if _, err := c.DescribeVpcEndpointServices(ctx, &ec2.DescribeVpcEndpointServicesInput{ServiceNames: []string{pl.ServiceName}}); err != nil {
		t.Fatal(err)
	}
	ep, err := c.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: ec2types.VpcEndpointTypeInterface, VpcId: aws.String(cvpc), ServiceName: aws.String(pl.ServiceName), SubnetIds: csubnets})
	if err != nil {
		t.Fatal(err)
	}
	epID := *ep.VpcEndpoint.VpcEndpointId

	// Access for two of three components: listeners on exactly those ports.
	yes := true
	if _, err := ctl.UpdatePublishedService(ctx, provider, "my-kafka", published.UpdatePublishedServiceInput{Components: map[string]published.ComponentUpdate{
		"kafka": {PrivateLinkAccess: &yes}, "schema_registry": {PrivateLinkAccess: &yes},
	}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return slices.Equal(listenerPorts(t, env, pl.LoadBalancerARN), []int32{8081, 9092}) })
	// The resource records the listeners and target groups at the end of the pass
	// that created them.
	waitFor(t, func() bool {
		svc = waitState(t, ctl, "my-kafka", model.PrivateLinkActive)
		return len(svc.PrivateLink.Listeners) == 2 && len(svc.PrivateLink.TargetGroups) == 2
	})
	th, err := env.ELB(provider).DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(svc.PrivateLink.TargetGroups["kafka"])})
	if err != nil || len(th.TargetHealthDescriptions) != 2 {
		t.Fatalf("kafka targets: %v %+v", err, th)
	}
	// Access off again for schema_registry; a port change for kafka moves its listener.
	no := false
	port := int32(9093)
	if _, err := ctl.UpdatePublishedService(ctx, provider, "my-kafka", published.UpdatePublishedServiceInput{Components: map[string]published.ComponentUpdate{
		"schema_registry": {PrivateLinkAccess: &no}, "kafka": {Port: &port},
	}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return slices.Equal(listenerPorts(t, env, pl.LoadBalancerARN), []int32{9093}) })
	waitFor(t, func() bool {
		tgs, err := env.ELB(provider).DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
		return err == nil && len(tgs.TargetGroups) == 1 && *tgs.TargetGroups[0].Port == 9093
	})

	// Principals replaced: the other account can no longer see or connect.
	if _, err := ctl.UpdatePrivateLink(ctx, provider, "my-kafka", published.UpdatePrivateLinkInput{Principals: &[]string{"arn:aws:iam::" + consumer + ":root"}}); err != nil {
		t.Fatal(err)
	}
	ovpc, osubnets := env.Network(other, testenv.Zones(3)...)
	// The reconciler applies the new principals; until then the other account
	// could still connect (and an attempt would create an endpoint), so wait
	// for the permissions first.
	waitFor(t, func() bool {
		perms, err := env.EC2(provider).DescribeVpcEndpointServicePermissions(ctx, &ec2.DescribeVpcEndpointServicePermissionsInput{ServiceId: aws.String(pl.ServiceID)})
		return err == nil && len(perms.AllowedPrincipals) == 1 && *perms.AllowedPrincipals[0].Principal == "arn:aws:iam::"+consumer+":root"
	})
	_, err = env.EC2(other).CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: ec2types.VpcEndpointTypeInterface, VpcId: aws.String(ovpc), ServiceName: aws.String(pl.ServiceName), SubnetIds: osubnets[:1]})
	if apiCode(err) != "InvalidServiceName" {
		t.Fatalf("endpoint from a removed principal: %v, want InvalidServiceName", err)
	}

	// Delete refuses with a live connection; the published service cannot go first.
	if _, err := ctl.DeletePrivateLink(ctx, provider, "my-kafka", false); !errors.Is(err, model.ErrInUse) {
		t.Fatalf("delete with a live connection: %v", err)
	}
	if err := ctl.DeletePublishedService(ctx, provider, "my-kafka"); !errors.Is(err, model.ErrInUse) {
		t.Fatalf("deleting the service before its PrivateLink: %v", err)
	}
	conns, err := ctl.PrivateLinkConnections(ctx, provider, "my-kafka")
	if err != nil || len(conns) != 1 || conns[0].EndpointID != epID || conns[0].Owner != consumer || conns[0].State != model.EndpointAvailable {
		t.Fatalf("connections: %v %+v", err, conns)
	}
	if _, err := ctl.DeletePrivateLink(ctx, provider, "my-kafka", true); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctl, "my-kafka", "")
	eps, err := c.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{epID}})
	if err != nil || eps.VpcEndpoints[0].State != "rejected" {
		t.Errorf("consumer endpoint after forced delete: %v %+v", err, eps)
	}
	lbsAfter, _ := env.ELB(provider).DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	tgsAfter, _ := env.ELB(provider).DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
	svcsAfter, _ := env.EC2(provider).DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{})
	if len(lbsAfter.LoadBalancers)+len(tgsAfter.TargetGroups)+len(svcsAfter.ServiceConfigurations) != 0 {
		t.Errorf("left behind: %d load balancers, %d target groups, %d services", len(lbsAfter.LoadBalancers), len(tgsAfter.TargetGroups), len(svcsAfter.ServiceConfigurations))
	}
	if err := ctl.DeletePublishedService(ctx, provider, "my-kafka"); err != nil {
		t.Fatal(err)
	}
}

// TestPublishAcceptance runs guide 000's flow: acceptance required, the consumer's
// endpoint waits in pendingAcceptance until the provider accepts it.
func TestPublishAcceptance(t *testing.T) {
	env := testenv.Start(t)
	ctl := env.Server.Control()
	ctx := testenv.Ctx(t)
	vpc, subnets := env.Network(provider, testenv.Zones(3)...)
	cvpc, csubnets := env.Network(consumer, testenv.Zones(3)...)
	if _, err := ctl.CreatePublishedService(ctx, provider, published.CreatePublishedServiceInput{
		Name: "tidb", VpcID: vpc, SubnetIDs: subnets[:2],
		Components: []model.Component{{Name: "mysql", Port: 4000, Targets: []string{"10.0.1.20"}, PrivateLinkAccess: true}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.AcceptPrivateLinkConnections(ctx, provider, "tidb", []string{"vpce-0123456789abcdef0"}); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("accept without PrivateLink: %v", err)
	}
	if _, err := ctl.CreatePrivateLink(ctx, provider, "tidb", published.CreatePrivateLinkInput{Principals: []string{"arn:aws:iam::" + consumer + ":root"}, AcceptanceRequired: true}); err != nil {
		t.Fatal(err)
	}
	pl := waitState(t, ctl, "tidb", model.PrivateLinkActive).PrivateLink
	// Once realized, reconcile passes (one a second) write nothing.
	time.Sleep(100 * time.Millisecond)
	rev, err := ctl.Store().Rev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if again, _ := ctl.Store().Rev(ctx); again != rev {
		t.Errorf("store revision moved from %d to %d with nothing to change", rev, again)
	}
	ep, err := env.EC2(consumer).CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: ec2types.VpcEndpointTypeInterface, VpcId: aws.String(cvpc), ServiceName: aws.String(pl.ServiceName), SubnetIds: csubnets[:2]})
	if err != nil {
		t.Fatal(err)
	}
	id := *ep.VpcEndpoint.VpcEndpointId
	if ep.VpcEndpoint.State != "pendingAcceptance" {
		t.Fatalf("endpoint state %s", ep.VpcEndpoint.State)
	}
	info, err := ctl.PublishedConnectionInfo(ctx, provider, "tidb", "")
	if err != nil || len(info.Entries) != 0 || info.Note == "" {
		t.Errorf("connection info before acceptance: %v %+v", err, info)
	}
	failed, err := ctl.AcceptPrivateLinkConnections(ctx, provider, "tidb", []string{id})
	if err != nil || len(failed) != 0 {
		t.Fatalf("accept: %v %v", err, failed)
	}
	waitFor(t, func() bool {
		out, err := env.EC2(consumer).DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
		return err == nil && out.VpcEndpoints[0].State == "available"
	})
	info, err = ctl.PublishedConnectionInfo(ctx, provider, "tidb", published.RoutePrivateLink)
	if err != nil || len(info.Entries) != 1 || info.Entries[0].EndpointID != id || info.Entries[0].Port != 4000 ||
		info.Entries[0].Command != "mysql -h "+info.Entries[0].Host+" -P 4000 -u USER -p" {
		t.Fatalf("connection info: %v %+v", err, info)
	}
	// Without --force, delete refuses; after the consumer deletes its endpoint it works.
	if _, err := ctl.DeletePrivateLink(ctx, provider, "tidb", false); !errors.Is(err, model.ErrInUse) {
		t.Fatalf("delete with a live connection: %v", err)
	}
	if _, err := env.EC2(consumer).DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.DeletePrivateLink(ctx, provider, "tidb", false); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctl, "tidb", "")
}

// TestPublishValidation checks the published-service operations' input checks.
func TestPublishValidation(t *testing.T) {
	env := testenv.Start(t)
	ctl := env.Server.Control()
	ctx := testenv.Ctx(t)
	vpc, subnets := env.Network(provider, testenv.Zones(3)...)
	ovpc, _ := env.Network(other, testenv.Zones(3)...)
	comp := []model.Component{{Name: "mysql", Port: 3306}}
	for _, tc := range []struct {
		name string
		in   published.CreatePublishedServiceInput
		want error
	}{
		{"bad name", published.CreatePublishedServiceInput{Name: "My_DB", VpcID: vpc, Components: comp}, model.ErrInvalid},
		{"foreign VPC", published.CreatePublishedServiceInput{Name: "db", VpcID: ovpc, Components: comp}, model.ErrNotFound},
		{"two subnets in a zone", published.CreatePublishedServiceInput{Name: "db", VpcID: vpc, SubnetIDs: []string{subnets[0], subnets[0] + "x"}, Components: comp}, model.ErrInvalid},
		{"bad port", published.CreatePublishedServiceInput{Name: "db", VpcID: vpc, Components: []model.Component{{Name: "mysql", Port: 0}}}, model.ErrInvalid},
		{"bad target", published.CreatePublishedServiceInput{Name: "db", VpcID: vpc, Components: []model.Component{{Name: "mysql", Port: 3306, Targets: []string{"db.example"}}}}, model.ErrInvalid},
		{"mixed targets", published.CreatePublishedServiceInput{Name: "db", VpcID: vpc, Components: []model.Component{{Name: "mysql", Port: 3306, Targets: []string{"10.0.1.5", "i-0123456789abcdef0"}}}}, model.ErrInvalid},
		{"same port", published.CreatePublishedServiceInput{Name: "db", VpcID: vpc, Components: []model.Component{{Name: "a", Port: 1}, {Name: "b", Port: 1}}}, model.ErrDuplicate},
	} {
		if _, err := ctl.CreatePublishedService(ctx, provider, tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := ctl.CreatePublishedService(ctx, provider, published.CreatePublishedServiceInput{Name: "db", VpcID: vpc, Components: comp}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.CreatePublishedService(ctx, provider, published.CreatePublishedServiceInput{Name: "db", VpcID: vpc, Components: comp}); !errors.Is(err, model.ErrDuplicate) {
		t.Errorf("duplicate name: %v", err)
	}
	if _, err := ctl.PublishedService(ctx, other, "db"); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("another account sees the service: %v", err)
	}
	if _, err := ctl.CreatePrivateLink(ctx, provider, "db", published.CreatePrivateLinkInput{Principals: []string{"arn:aws:iam::12:root"}}); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("bad principal: %v", err)
	}
	if _, err := ctl.CreatePrivateLink(ctx, provider, "db", published.CreatePrivateLinkInput{}); !errors.Is(err, model.ErrMissing) {
		t.Errorf("no principal: %v", err)
	}
	if _, err := ctl.UpdatePublishedService(ctx, provider, "db", published.UpdatePublishedServiceInput{RemoveComponents: []string{"kafka"}}); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("removing an unknown component: %v", err)
	}
}

// TestPublishNames checks the load balancer and target group names stay within
// ELB's limits.
func TestPublishNames(t *testing.T) {
	long := "a-very-long-service-name-that-goes-on"
	for _, n := range []string{reconcile.LoadBalancerName(long), reconcile.TargetGroupName(long, "schema_registry", 8081, "ip")} {
		if len(n) > 32 || n[len(n)-1] == '-' {
			t.Errorf("name %q", n)
		}
	}
	if reconcile.LoadBalancerName("db") != "strait-db" || reconcile.TargetGroupName("db", "kafka_rest", 8082, "instance") != "strait-db-kafka-rest-8082-i" {
		t.Error("short names changed")
	}
	if reconcile.LoadBalancerName(long) == reconcile.LoadBalancerName(long+"x") {
		t.Error("long names collide")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
