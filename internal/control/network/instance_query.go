package network

import (
	"context"
	"errors"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// Instance returns one of the account's instances.
func (c *Network) Instance(ctx context.Context, acct, id string) (model.Instance, error) {
	return core.GetOwned(ctx, c.Store(), acct, model.KindInstance, model.PrefixInstance, id, func(i model.Instance) string { return i.Owner })
}

// Instances lists the account's instances, terminated ones included until their
// records expire.
func (c *Network) Instances(ctx context.Context, acct string) ([]model.Instance, error) {
	all, err := core.List[model.Instance](ctx, c.Store(), model.KindInstance)
	return core.FilterOwner(all, acct, func(i model.Instance) string { return i.Owner }), err
}

// AllInstances lists every account's instances, for the reconciler: it realizes
// the Live ones and removes the others.
func (c *Network) AllInstances(ctx context.Context) ([]model.Instance, error) {
	return core.List[model.Instance](ctx, c.Store(), model.KindInstance)
}

// reservationKind names RunInstances' client tokens in the token records.
const reservationKind = "reservation"

// reservationRecord is what a RunInstances client token produced: a reservation
// and its instances, with the hash of the call's parameters.
type reservationRecord struct {
	ID        string   `json:"id"`
	Hash      string   `json:"hash"`
	Instances []string `json:"instances"`
}

// reservationToken begins a RunInstances call: it hashes the parameters (without
// ClientToken) and returns the instances an earlier call with the same token and
// parameters launched, while any of them is still recorded.
func (c *Network) reservationToken(ctx context.Context, acct string, in RunInstancesInput) (core.TokenUse, []model.Instance, error) {
	hash, err := core.TokenHash(in)
	if err != nil {
		return core.TokenUse{}, nil, err
	}
	u := core.TokenUse{Acct: acct, Kind: reservationKind, Token: in.ClientToken, Hash: hash}
	if u.Token == "" {
		return u, nil, nil
	}
	if err := core.CheckToken(u.Token); err != nil {
		return u, nil, err
	}
	var rec reservationRecord
	if err := c.Store().Get(ctx, core.TokenKey(acct, reservationKind, u.Token), &rec); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return u, nil, nil
		}
		return u, nil, err
	}
	if rec.Hash != hash {
		return u, nil, core.Mismatch(u.Token)
	}
	var out []model.Instance
	for _, id := range rec.Instances {
		inst, err := core.Get[model.Instance](ctx, c.Store(), model.KindInstance, id)
		if errors.Is(err, model.ErrNotFound) {
			continue
		}
		if err != nil {
			return u, nil, err
		}
		out = append(out, inst)
	}
	return u, out, nil
}

// txReservation is reservationToken's lookup inside the launching transaction:
// when a concurrent call with the same token and parameters launched instances
// meanwhile, it stores them in *out and reports found.
func txReservation(tx *store.Tx, u core.TokenUse, out *[]model.Instance) (found bool, err error) {
	if u.Token == "" {
		return false, nil
	}
	var rec reservationRecord
	ok, err := tx.Get(core.TokenKey(u.Acct, reservationKind, u.Token), &rec)
	if err != nil || !ok {
		return false, err
	}
	if rec.Hash != u.Hash {
		return false, core.Mismatch(u.Token)
	}
	var insts []model.Instance
	for _, id := range rec.Instances {
		if inst, err := core.TxGet[model.Instance](tx, model.KindInstance, id); err == nil {
			insts = append(insts, inst)
		}
	}
	if len(insts) == 0 {
		return false, nil
	}
	*out = insts
	return true, nil
}

// recordReservation stores, inside the launching transaction, what the client
// token produced.
func recordReservation(tx *store.Tx, u core.TokenUse, insts []model.Instance) error {
	if u.Token == "" || len(insts) == 0 {
		return nil
	}
	rec := reservationRecord{ID: insts[0].ReservationID, Hash: u.Hash}
	for _, i := range insts {
		rec.Instances = append(rec.Instances, i.ID)
	}
	return tx.Put(core.TokenKey(u.Acct, reservationKind, u.Token), rec)
}
