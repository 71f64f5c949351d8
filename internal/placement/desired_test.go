package placement_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"strait/internal/agent"
	"strait/internal/control/published"
	"strait/internal/model"
	"strait/internal/placement"
	"strait/internal/reconcile"
	"strait/internal/reconcile/status"
	"strait/internal/testenv"
)

// On the desired state a real server builds (a published service in three
// zones, an endpoint to it in three zones of a VPC with the same CIDR), the
// local host alone gets it whole; spread over three hosts, every node and
// ENI is on its zone's host and each part survives JSON.
func TestSplitDesired(t *testing.T) {
	const provider, consumer = "111111111111", "222222222222"
	env := testenv.Start(t)
	ctl := env.Server.Control()
	ctx := testenv.Ctx(t)
	zones := testenv.Zones(3)
	vpc, _ := env.Network(provider, zones...)
	cvpc, csubnets := env.Network(consumer, zones...)
	if _, err := ctl.CreatePublishedService(ctx, provider, published.CreatePublishedServiceInput{
		Name: "db", VpcID: vpc,
		Components: []model.Component{{Name: "mysql", Port: 3306, Targets: []string{"10.0.2.20"}, PrivateLinkAccess: true}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.CreatePrivateLink(ctx, provider, "db", published.CreatePrivateLinkInput{Principals: []string{"arn:aws:iam::" + consumer + ":root"}}); err != nil {
		t.Fatal(err)
	}
	var pl *model.PrivateLink
	for deadline := time.Now().Add(time.Minute); pl == nil || pl.State != model.PrivateLinkActive; time.Sleep(20 * time.Millisecond) {
		svc, err := ctl.PublishedService(ctx, provider, "db")
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("PrivateLink not active: %v %+v", err, svc.PrivateLink)
		}
		pl = svc.PrivateLink
	}
	if _, err := env.EC2(consumer).CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: ec2types.VpcEndpointTypeInterface,
		VpcId: aws.String(cvpc), ServiceName: aws.String(pl.ServiceName), SubnetIds: csubnets}); err != nil {
		t.Fatal(err)
	}
	snap, err := status.New(ctl).Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := reconcile.Desired(snap, ctl)
	if len(st.Endpoints) != 1 || len(st.Endpoints[0].ENIs) != 3 || len(st.LoadBalancers) != 1 || len(st.LoadBalancers[0].Nodes) != 3 {
		t.Fatalf("desired state without an endpoint in three zones to a load balancer in three: %+v", st)
	}

	if parts := placement.Split(st, []placement.Host{{ID: "local", Local: true}}); !reflect.DeepEqual(parts, map[string]agent.State{"local": st}) {
		t.Errorf("the local host alone does not get the whole desired state")
	}
	hosts := []placement.Host{{ID: "local", Local: true}, {ID: "h1", Zones: zones[:1]}, {ID: "h2", Zones: zones[1:2]}}
	hostOf := map[string]string{zones[0]: "h1", zones[1]: "h2", zones[2]: "local"}
	parts := placement.Split(st, hosts)
	for h, p := range parts {
		if len(p.VPCs) != len(st.VPCs) || len(p.Endpoints) != 1 || len(p.LoadBalancers) != 1 || len(p.TargetGroups) != 1 {
			t.Errorf("%s's part: %d VPCs, %d endpoints, %d load balancers, %d target groups; want %d 1 1 1", h, len(p.VPCs), len(p.Endpoints), len(p.LoadBalancers), len(p.TargetGroups), len(st.VPCs))
			continue
		}
		for _, e := range p.Endpoints[0].ENIs {
			if hostOf[e.AZ] != h {
				t.Errorf("%s has endpoint ENI %s of %s", h, e.IP, e.AZ)
			}
		}
		lb := p.LoadBalancers[0]
		for i, n := range lb.Nodes {
			if hostOf[n.AZ] != h || lb.ENIs[i].IP != n.IP || !lb.Transit[i].IsValid() || p.RemoteNodes[lb.Transit[i]] != "" {
				t.Errorf("%s has node %+v (ENI %+v, transit %v)", h, n, lb.ENIs[i], lb.Transit[i])
			}
		}
		if len(p.RemoteNodes) != 2 {
			t.Errorf("%s routes %v to other hosts, want the 2 other nodes", h, p.RemoteNodes)
		}
		for i, v := range p.VPCs { // every VPC, the default ones too, has a subnet in each zone
			if len(v.Subnets) != 1 || hostOf[v.Subnets[0].AZ] != h || len(v.Remote) != len(st.VPCs[i].Subnets)-1 {
				t.Errorf("%s has VPC %s with subnets %+v, remote %+v", h, v.ID, v.Subnets, v.Remote)
			}
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back agent.State
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, p) {
			t.Errorf("%s's part changed through JSON (%v)", h, err)
		}
	}
}
