package status

import (
	"context"

	"strait/internal/control/core"
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
func (c *Status) Snapshot(ctx context.Context) (Snapshot, error) {
	ctx = c.WithCache(ctx)
	var s Snapshot
	var err error
	read := func(fn func() error) {
		if err == nil {
			err = fn()
		}
	}
	read(func() (e error) { s.Vpcs, e = core.Scan[model.Vpc](ctx, c.Base, model.KindVpc); return })
	read(func() (e error) { s.Subnets, e = core.Scan[model.Subnet](ctx, c.Base, model.KindSubnet); return })
	read(func() (e error) {
		s.SecurityGroups, e = core.Scan[model.SecurityGroup](ctx, c.Base, model.KindSecurityGroup)
		return
	})
	read(func() (e error) { s.ENIs, e = core.Scan[model.NetworkInterface](ctx, c.Base, model.KindENI); return })
	read(func() (e error) { s.Instances, e = core.Scan[model.Instance](ctx, c.Base, model.KindInstance); return })
	read(func() (e error) {
		s.LoadBalancers, e = core.Scan[model.LoadBalancer](ctx, c.Base, model.KindLoadBalancer)
		return
	})
	read(func() (e error) {
		s.TargetGroups, e = core.Scan[model.TargetGroup](ctx, c.Base, model.KindTargetGroup)
		return
	})
	read(func() (e error) { s.Listeners, e = core.Scan[model.Listener](ctx, c.Base, model.KindListener); return })
	read(func() (e error) {
		s.Services, e = core.Scan[model.EndpointService](ctx, c.Base, model.KindService)
		return
	})
	read(func() (e error) { s.Endpoints, e = core.Scan[model.Endpoint](ctx, c.Base, model.KindEndpoint); return })
	return s, err
}
