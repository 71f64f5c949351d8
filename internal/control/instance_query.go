package control

import (
	"context"
	"errors"

	"strait/internal/model"
	"strait/internal/store"
)

// Instance returns one of the account's instances.
func (c *Control) Instance(ctx context.Context, acct, id string) (model.Instance, error) {
	return getOwned(ctx, c.st, acct, model.KindInstance, model.PrefixInstance, id, func(i model.Instance) string { return i.Owner })
}

// Instances lists the account's instances, terminated ones included until their
// records expire.
func (c *Control) Instances(ctx context.Context, acct string) ([]model.Instance, error) {
	all, err := list[model.Instance](ctx, c.st, model.KindInstance)
	return filterOwner(all, acct, func(i model.Instance) string { return i.Owner }), err
}

// AllInstances lists every account's instances, for the reconciler: it realizes
// the Live ones and removes the others.
func (c *Control) AllInstances(ctx context.Context) ([]model.Instance, error) {
	return list[model.Instance](ctx, c.st, model.KindInstance)
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
func (c *Control) reservationToken(ctx context.Context, acct string, in RunInstancesInput) (tokenUse, []model.Instance, error) {
	hash, err := tokenHash(in)
	if err != nil {
		return tokenUse{}, nil, err
	}
	u := tokenUse{acct: acct, kind: reservationKind, token: in.ClientToken, hash: hash}
	if u.token == "" {
		return u, nil, nil
	}
	if err := checkToken(u.token); err != nil {
		return u, nil, err
	}
	var rec reservationRecord
	if err := c.st.Get(ctx, tokenKey(acct, reservationKind, u.token), &rec); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return u, nil, nil
		}
		return u, nil, err
	}
	if rec.Hash != hash {
		return u, nil, mismatch(u.token)
	}
	var out []model.Instance
	for _, id := range rec.Instances {
		inst, err := get[model.Instance](ctx, c.st, model.KindInstance, id)
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
func txReservation(tx *store.Tx, u tokenUse, out *[]model.Instance) (found bool, err error) {
	if u.token == "" {
		return false, nil
	}
	var rec reservationRecord
	ok, err := tx.Get(tokenKey(u.acct, reservationKind, u.token), &rec)
	if err != nil || !ok {
		return false, err
	}
	if rec.Hash != u.hash {
		return false, mismatch(u.token)
	}
	var insts []model.Instance
	for _, id := range rec.Instances {
		if inst, err := txGet[model.Instance](tx, model.KindInstance, id); err == nil {
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
func recordReservation(tx *store.Tx, u tokenUse, insts []model.Instance) error {
	if u.token == "" || len(insts) == 0 {
		return nil
	}
	rec := reservationRecord{ID: insts[0].ReservationID, Hash: u.hash}
	for _, i := range insts {
		rec.Instances = append(rec.Instances, i.ID)
	}
	return tx.Put(tokenKey(u.acct, reservationKind, u.token), rec)
}
