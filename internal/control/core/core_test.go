package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/model"
	"strait/internal/store"
)

// New fills in the region's defaults; zones are found by name or zone ID.
func TestBaseDefaults(t *testing.T) {
	t.Parallel()
	b := newTestBase(t)
	if b.Region() != "us-east-1" || b.Domain() != "amazonaws.com" || b.Config().Zones != 3 || b.Now().IsZero() || b.Log() == nil {
		t.Fatalf("defaults: %+v", b.Config())
	}
	zs := b.Zones()
	if len(zs) != 3 || zs[2] != (model.AvailabilityZone{Name: "us-east-1c", ZoneID: "use1-az3", Region: "us-east-1"}) {
		t.Fatalf("zones %+v", zs)
	}
	if z, ok := b.Zone("use1-az2"); !ok || z.Name != "us-east-1b" {
		t.Fatalf("Zone(use1-az2) = %+v, %v", z, ok)
	}
	if _, ok := b.Zone("us-east-1d"); ok {
		t.Fatal("a fourth zone exists")
	}
	if z := ZonesOf("eu-west-2", 2); z[1].Name != "eu-west-2b" || z[1].ZoneID != "euw2-az2" {
		t.Fatalf("ZonesOf(eu-west-2) = %+v", z)
	}
}

// Update commits fn's writes and signals Changed; a failing fn writes nothing
// and signals nothing.
func TestUpdateSignalsChanged(t *testing.T) {
	t.Parallel()
	b := newTestBase(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := b.Update(ctx, func(tx *store.Tx) error {
		if err := tx.Put(Key(model.KindVpc, "vpc-1"), model.Vpc{ID: "vpc-1"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	select {
	case <-b.Changed():
		t.Fatal("a failed update signalled a change")
	default:
	}
	_, err = Get[model.Vpc](ctx, b.Store(), model.KindVpc, "vpc-1")
	controltest.WantError(t, "the failed update's record", err, model.ErrNotFound, model.KindVpc, "")
	if err := b.Update(ctx, func(tx *store.Tx) error {
		return tx.Put(Key(model.KindVpc, "vpc-1"), model.Vpc{ID: "vpc-1", Owner: "111111111111"})
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.Changed():
	default:
		t.Fatal("a committed update did not signal a change")
	}
	owner := func(v model.Vpc) string { return v.Owner }
	if v, err := GetOwned(ctx, b.Store(), "111111111111", model.KindVpc, model.PrefixVpc, "vpc-00000001", owner); !IsNotFound(err) {
		t.Fatalf("GetOwned of a missing VPC: %+v %v", v, err)
	}
	if err := b.Update(ctx, func(tx *store.Tx) error {
		return tx.Put(Key(model.KindVpc, "vpc-00000001"), model.Vpc{ID: "vpc-00000001", Owner: "111111111111"})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := GetOwned(ctx, b.Store(), "111111111111", model.KindVpc, model.PrefixVpc, "vpc-00000001", owner); err != nil {
		t.Fatalf("GetOwned by the owner: %v", err)
	}
	_, err = GetOwned(ctx, b.Store(), "222222222222", model.KindVpc, model.PrefixVpc, "vpc-00000001", owner)
	controltest.WantError(t, "GetOwned by another account", err, model.ErrNotFound, model.KindVpc, "")
	_, err = GetOwned(ctx, b.Store(), "111111111111", model.KindVpc, model.PrefixVpc, "vpc-1", owner)
	controltest.WantError(t, "GetOwned of a malformed ID", err, model.ErrInvalid, model.KindVpc, "")
}

// tokenInput is a create call's input with a client token.
type tokenInput struct {
	CIDR        string
	ClientToken string
}

// create is a create call as the families write them: Idempotent before, then
// TxPrevious and Record inside the transaction.
func create(ctx context.Context, b *Base, acct string, in tokenInput) (model.Vpc, error) {
	tok, prev, found, err := Idempotent[model.Vpc](ctx, b, acct, model.KindVpc, in.ClientToken, in)
	if err != nil || found {
		return prev, err
	}
	v := model.Vpc{ID: model.NewID(model.PrefixVpc), Owner: acct, CIDR: in.CIDR}
	err = b.Update(ctx, func(tx *store.Tx) error {
		if found, err := TxPrevious(tx, tok, &v); err != nil || found {
			return err
		}
		if err := tok.Record(tx, v.ID); err != nil {
			return err
		}
		return tx.Put(Key(model.KindVpc, v.ID), v)
	})
	return v, err
}

// A client token returns the first call's resource to a repeat with the same
// parameters, per account; other parameters are a mismatch; no token creates
// every time.
func TestClientTokens(t *testing.T) {
	t.Parallel()
	b := newTestBase(t)
	ctx := context.Background()
	a := controltest.Must(create(ctx, b, "111111111111", tokenInput{CIDR: "10.0.0.0/16", ClientToken: "t1"}))(t)
	if again := controltest.Must(create(ctx, b, "111111111111", tokenInput{CIDR: "10.0.0.0/16", ClientToken: "t1"}))(t); again.ID != a.ID {
		t.Fatalf("the repeat created %s, want %s", again.ID, a.ID)
	}
	_, err := create(ctx, b, "111111111111", tokenInput{CIDR: "10.1.0.0/16", ClientToken: "t1"})
	controltest.WantError(t, "the token with another CIDR", err, model.ErrConflict, "", model.ReasonTokenMismatch)
	if other := controltest.Must(create(ctx, b, "222222222222", tokenInput{CIDR: "10.0.0.0/16", ClientToken: "t1"}))(t); other.ID == a.ID {
		t.Fatal("another account's call with the token got the first account's VPC")
	}
	x := controltest.Must(create(ctx, b, "111111111111", tokenInput{CIDR: "10.0.0.0/16"}))(t)
	y := controltest.Must(create(ctx, b, "111111111111", tokenInput{CIDR: "10.0.0.0/16"}))(t)
	if x.ID == y.ID || x.ID == a.ID {
		t.Fatal("calls without a token did not each create a VPC")
	}
	_, err = create(ctx, b, "111111111111", tokenInput{CIDR: "10.0.0.0/16", ClientToken: strings.Repeat("t", 65)})
	controltest.WantError(t, "a 65-character token", err, model.ErrInvalid, "", "")
	// A token whose resource is gone creates it again.
	if err := b.Update(ctx, func(tx *store.Tx) error { tx.Delete(Key(model.KindVpc, a.ID)); return nil }); err != nil {
		t.Fatal(err)
	}
	if again := controltest.Must(create(ctx, b, "111111111111", tokenInput{CIDR: "10.0.0.0/16", ClientToken: "t1"}))(t); again.ID == a.ID {
		t.Fatal("the token returned a deleted VPC")
	}
}

// EachID runs once per distinct ID; a domain error fails its item, any other
// error the batch.
func TestEachID(t *testing.T) {
	t.Parallel()
	var seen []string
	failed, err := EachID([]string{"a", "b", "a", "c"}, func(id string) error {
		seen = append(seen, id)
		if id == "b" {
			return model.NotFound(model.KindVpc, id)
		}
		return nil
	})
	if err != nil || len(failed) != 1 || failed[0].ID != "b" || fmt.Sprint(seen) != "[a b c]" {
		t.Fatalf("failed %+v, err %v, seen %v", failed, err, seen)
	}
	boom := errors.New("store down")
	if failed, err := EachID([]string{"a", "b"}, func(string) error { return boom }); !errors.Is(err, boom) || failed != nil {
		t.Fatalf("an internal error: failed %+v, err %v", failed, err)
	}
	tags, err := AddTags(model.Tags{"a": "1"}, model.Tags{"a": "2", "b": "3"}, 2, func() error { return boom })
	if err != nil || len(tags) != 2 || tags["a"] != "2" {
		t.Fatalf("AddTags within the limit: %+v %v", tags, err)
	}
	if _, err := AddTags(tags, model.Tags{"c": "4"}, 2, func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("AddTags over the limit: %v", err)
	}
}
