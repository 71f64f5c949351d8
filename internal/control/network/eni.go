package network

import (
	"context"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// ENISpec describes a network interface to create in a subnet.
type ENISpec struct {
	SubnetID         string
	Owner            string
	InterfaceType    string // model.ENIType*
	Description      string
	RequesterID      string
	RequesterManaged bool
	AttachedTo       string
	Groups           []string
	PrivateIP        string // empty: the lowest free address
}

// CreateENI allocates an address in the subnet and stores the interface, inside tx.
func (c *Network) CreateENI(tx *store.Tx, spec ENISpec) (model.NetworkInterface, error) {
	sn, err := core.TxGet[model.Subnet](tx, model.KindSubnet, spec.SubnetID)
	if err != nil {
		return model.NetworkInterface{}, err
	}
	id := model.NewID(model.PrefixENI)
	if err := moveLegacyIPs(tx, &sn); err != nil {
		return model.NetworkInterface{}, err
	}
	ip, err := allocateIP(tx, &sn, id, spec.PrivateIP)
	if err != nil {
		return model.NetworkInterface{}, err
	}
	eni := model.NetworkInterface{
		ID: id, Owner: spec.Owner, VpcID: sn.VpcID, SubnetID: sn.ID, AZ: sn.AZ, PrivateIP: ip,
		MAC: macFor(id), Description: spec.Description, InterfaceType: spec.InterfaceType,
		RequesterID: spec.RequesterID, RequesterManaged: spec.RequesterManaged, Status: model.ENIStatusInUse,
		Groups: spec.Groups, AttachedTo: spec.AttachedTo, AttachmentID: model.NewID(model.PrefixAttachment),
		Created: c.Now().UTC(),
	}
	if err := tx.Put(core.Key(model.KindSubnet, sn.ID), sn); err != nil {
		return model.NetworkInterface{}, err
	}
	return eni, tx.Put(core.Key(model.KindENI, id), eni)
}

// DeleteENI frees an interface's address and removes it, inside tx. A missing
// interface is not an error (deletions are retried).
func DeleteENI(tx *store.Tx, id string) error {
	eni, err := core.TxGet[model.NetworkInterface](tx, model.KindENI, id)
	if err != nil {
		return nil
	}
	sn, err := core.TxGet[model.Subnet](tx, model.KindSubnet, eni.SubnetID)
	if err == nil {
		if err := moveLegacyIPs(tx, &sn); err != nil {
			return err
		}
		releaseIP(tx, &sn, eni.PrivateIP)
		if err := tx.Put(core.Key(model.KindSubnet, sn.ID), sn); err != nil {
			return err
		}
	}
	tx.Delete(core.Key(model.KindENI, id))
	return nil
}

// NetworkInterfaces lists the interfaces visible to an account: its own, including
// the requester-managed ones of its endpoints and load balancers.
func (c *Network) NetworkInterfaces(ctx context.Context, acct string) ([]model.NetworkInterface, error) {
	all, err := core.List[model.NetworkInterface](ctx, c.Store(), model.KindENI)
	return core.FilterOwner(all, acct, func(e model.NetworkInterface) string { return e.Owner }), err
}
