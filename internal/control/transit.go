package control

import (
	"context"
	"fmt"
)

// AssignTransitAddresses gives the VPCs and load balancer nodes that an earlier
// version created without a transit address one each, and leaves those that
// have one alone. The server runs it once at startup, before the reconciler; it
// is safe to run again or on two servers of one store at once.
func (c *Control) AssignTransitAddresses(ctx context.Context) error {
	vpcs, err := c.AssignVpcTransit(ctx)
	if err != nil {
		return fmt.Errorf("assigning transit addresses to VPCs: %w", err)
	}
	nodes, err := c.AssignNodeTransit(ctx)
	if err != nil {
		return fmt.Errorf("assigning transit addresses to load balancer nodes: %w", err)
	}
	if vpcs+nodes > 0 {
		c.Log().Info("assigned transit addresses to records of an earlier version", "vpcs", vpcs, "load_balancer_nodes", nodes)
	}
	return nil
}
