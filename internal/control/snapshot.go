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
// snapshot, which the change itself triggers. With the read cache (StartCache)
// it decodes only what changed since the last snapshot; its records are then
// shared with the cache and must not be changed.
func (c *Control) Snapshot(ctx context.Context) (Snapshot, error) {
	ctx = c.withCache(ctx)
	var s Snapshot
	var err error
	read := func(fn func() error) {
		if err == nil {
			err = fn()
		}
	}
	read(func() (e error) { s.Vpcs, e = scan[model.Vpc](ctx, c, model.KindVpc); return })
	read(func() (e error) { s.Subnets, e = scan[model.Subnet](ctx, c, model.KindSubnet); return })
	read(func() (e error) {
		s.SecurityGroups, e = scan[model.SecurityGroup](ctx, c, model.KindSecurityGroup)
		return
	})
	read(func() (e error) { s.ENIs, e = scan[model.NetworkInterface](ctx, c, model.KindENI); return })
	read(func() (e error) { s.Instances, e = scan[model.Instance](ctx, c, model.KindInstance); return })
	read(func() (e error) {
		s.LoadBalancers, e = scan[model.LoadBalancer](ctx, c, model.KindLoadBalancer)
		return
	})
	read(func() (e error) {
		s.TargetGroups, e = scan[model.TargetGroup](ctx, c, model.KindTargetGroup)
		return
	})
	read(func() (e error) { s.Listeners, e = scan[model.Listener](ctx, c, model.KindListener); return })
	read(func() (e error) { s.Services, e = scan[model.EndpointService](ctx, c, model.KindService); return })
	read(func() (e error) { s.Endpoints, e = scan[model.Endpoint](ctx, c, model.KindEndpoint); return })
	return s, err
}
