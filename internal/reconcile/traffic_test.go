package reconcile_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"strait/internal/control/published"
	"strait/internal/model"
	"strait/internal/reconcile/status"
	"strait/internal/store"
	"strait/internal/testenv"
)

// Traffic reports add up per endpoint, show in the service's connections, skip
// endpoints that do not exist, and go away with the endpoint.
func TestTrafficRecords(t *testing.T) {
	env := testenv.Start(t)
	ctl := env.Server.Control()
	ctx := testenv.Ctx(t)
	vpc, _ := env.Network(provider, testenv.Zones(2)...)
	cvpc, csubnets := env.Network(consumer, testenv.Zones(2)...)
	if _, err := ctl.CreatePublishedService(ctx, provider, published.CreatePublishedServiceInput{
		Name: "db", VpcID: vpc,
		Components: []model.Component{{Name: "postgresql", Port: 5432, Targets: []string{"10.0.1.20"}, PrivateLinkAccess: true}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.CreatePrivateLink(ctx, provider, "db", published.CreatePrivateLinkInput{Principals: []string{"arn:aws:iam::" + consumer + ":root"}}); err != nil {
		t.Fatal(err)
	}
	pl := waitState(t, ctl, "db", model.PrivateLinkActive).PrivateLink
	ep, err := env.EC2(consumer).CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: ec2types.VpcEndpointTypeInterface,
		VpcId: aws.String(cvpc), ServiceName: aws.String(pl.ServiceName), SubnetIds: csubnets})
	if err != nil {
		t.Fatal(err)
	}
	id := *ep.VpcEndpoint.VpcEndpointId

	conns, err := ctl.PrivateLinkConnections(ctx, provider, "db")
	if err != nil || len(conns) != 1 || conns[0].Traffic != nil {
		t.Fatalf("before any report: %v %+v", err, conns)
	}
	const ghost = "vpce-0123456789abcdef0"
	reports := []map[string]status.TrafficReport{
		{id: {Connections: 3, ActiveConnections: 2, BytesIn: 100, BytesOut: 1000}, ghost: {Connections: 1}},
		{id: {Connections: 1, ActiveConnections: 1, BytesIn: 5, BytesOut: 50, Rejected: 1}},
	}
	for _, r := range reports {
		if err := status.New(ctl).RecordTraffic(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	conns, err = ctl.PrivateLinkConnections(ctx, provider, "db")
	if err != nil || len(conns) != 1 || conns[0].Traffic == nil {
		t.Fatalf("after reports: %v %+v", err, conns)
	}
	got := *conns[0].Traffic
	got.Updated = got.Updated.UTC()
	want := model.EndpointTraffic{Connections: 4, ActiveConnections: 1, BytesIn: 105, BytesOut: 1050, Rejected: 1, Updated: got.Updated}
	if got != want || got.Updated.IsZero() {
		t.Errorf("traffic %+v, want %+v", got, want)
	}
	var none model.EndpointTraffic
	if err := ctl.Store().Get(ctx, model.KindEndpointTraffic+"/"+ghost, &none); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a report for a missing endpoint was stored: %v", err)
	}

	if _, err := env.EC2(consumer).DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		var tr model.EndpointTraffic
		return errors.Is(ctl.Store().Get(ctx, model.KindEndpointTraffic+"/"+id, &tr), store.ErrNotFound)
	})
}
