package elb

import (
	"context"
	"errors"
	"slices"

	"strait/internal/control/core"
	"strait/internal/control/network"
	"strait/internal/model"
	"strait/internal/store"
)

// txNewNode is the load balancer node of a new interface, with a transit address
// allocated to it (held by the interface's ID) inside tx.
func txNewNode(tx *store.Tx, eni model.NetworkInterface) (model.LBNode, error) {
	transit, err := network.TxAllocateTransit(tx, eni.ID)
	if err != nil {
		return model.LBNode{}, err
	}
	return model.LBNode{SubnetID: eni.SubnetID, AZ: eni.AZ, ENIID: eni.ID, PrivateIP: eni.PrivateIP, TransitIP: transit}, nil
}

// txDeleteNode deletes a load balancer node's interface and frees its transit
// address inside tx.
func txDeleteNode(tx *store.Tx, n model.LBNode) error {
	if err := network.TxReleaseTransit(tx, n.TransitIP, n.ENIID); err != nil {
		return err
	}
	return network.DeleteENI(tx, n.ENIID)
}

// AssignNodeTransit gives every load balancer node that has no transit address
// (one written by an earlier version) one, a load balancer per transaction;
// nodes that have one keep it. Each transaction reads the load balancer again,
// so running it twice, or on two servers at once, assigns one address per node.
func (c *ELB) AssignNodeTransit(ctx context.Context) (assigned int, err error) {
	lbs, err := core.List[model.LoadBalancer](ctx, c.Store(), model.KindLoadBalancer)
	if err != nil {
		return 0, err
	}
	for _, lb := range lbs {
		if !slices.ContainsFunc(lb.Nodes, func(n model.LBNode) bool { return n.TransitIP == "" }) {
			continue
		}
		id := model.ARNResourceID(lb.ARN)
		var n int
		err := c.Update(ctx, func(tx *store.Tx) error {
			n = 0
			cur, err := core.TxGet[model.LoadBalancer](tx, model.KindLoadBalancer, id)
			if errors.Is(err, model.ErrNotFound) {
				return nil // deleted meanwhile
			}
			if err != nil {
				return err
			}
			for i := range cur.Nodes {
				if cur.Nodes[i].TransitIP != "" {
					continue
				}
				if cur.Nodes[i].TransitIP, err = network.TxAllocateTransit(tx, cur.Nodes[i].ENIID); err != nil {
					return err
				}
				n++
			}
			if n == 0 {
				return nil
			}
			return tx.Put(core.Key(model.KindLoadBalancer, id), cur)
		})
		if err != nil {
			return assigned, err
		}
		assigned += n
	}
	return assigned, nil
}
