package control

import (
	"context"

	"strait/internal/model"
)

// Snapshot is every record the data plane realizes, across all accounts. The
// reconciler builds the host's desired state from it.
type Snapshot struct {
	Vpcs           []model.Vpc
	Subnets        []model.Subnet
	SecurityGroups []model.SecurityGroup
	ENIs           []model.NetworkInterface
	Instances      []model.Instance
	LoadBalancers  []model.LoadBalancer
	TargetGroups   []model.TargetGroup
	Listeners      []model.Listener
	Services       []model.EndpointService
	Endpoints      []model.Endpoint
}

// Snapshot reads every record the data plane needs. The kinds are read one after
// the other, not at one revision: a change between two reads shows up in the next
// snapshot, which the change itself triggers.
func (c *Control) Snapshot(ctx context.Context) (Snapshot, error) {
	var s Snapshot
	var err error
	read := func(fn func() error) {
		if err == nil {
			err = fn()
		}
	}
	read(func() (e error) { s.Vpcs, e = list[model.Vpc](ctx, c.st, model.KindVpc); return })
	read(func() (e error) { s.Subnets, e = list[model.Subnet](ctx, c.st, model.KindSubnet); return })
	read(func() (e error) {
		s.SecurityGroups, e = list[model.SecurityGroup](ctx, c.st, model.KindSecurityGroup)
		return
	})
	read(func() (e error) { s.ENIs, e = list[model.NetworkInterface](ctx, c.st, model.KindENI); return })
	read(func() (e error) { s.Instances, e = list[model.Instance](ctx, c.st, model.KindInstance); return })
	read(func() (e error) {
		s.LoadBalancers, e = list[model.LoadBalancer](ctx, c.st, model.KindLoadBalancer)
		return
	})
	read(func() (e error) {
		s.TargetGroups, e = list[model.TargetGroup](ctx, c.st, model.KindTargetGroup)
		return
	})
	read(func() (e error) { s.Listeners, e = list[model.Listener](ctx, c.st, model.KindListener); return })
	read(func() (e error) { s.Services, e = list[model.EndpointService](ctx, c.st, model.KindService); return })
	read(func() (e error) { s.Endpoints, e = list[model.Endpoint](ctx, c.st, model.KindEndpoint); return })
	return s, err
}
