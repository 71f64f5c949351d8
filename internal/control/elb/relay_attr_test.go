package elb

import (
	"context"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// The Strait target-group attribute strait.relay.enabled is "false" until set,
// also for a group stored before the attribute existed; it takes "true" or
// "false" only, and a refused value changes nothing.
func TestRelayAttribute(t *testing.T) {
	t.Parallel()
	c := newTestELB(t)
	ctx := context.Background()
	_, _, tg := ipGroup(t, c, false)
	relay := func() string {
		t.Helper()
		for _, a := range controltest.Must(c.TargetGroupAttributes(ctx, testAcct, tg.ARN))(t) {
			if a.Key == model.RelayAttribute {
				return a.Value
			}
		}
		t.Fatalf("DescribeTargetGroupAttributes lacks %s", model.RelayAttribute)
		return ""
	}
	if got := relay(); got != "false" {
		t.Fatalf("a new group's %s is %q, want false", model.RelayAttribute, got)
	}
	// A group written by an earlier version has no such key.
	if err := c.Update(ctx, func(tx *store.Tx) error {
		old := controltest.Must(core.TxGet[model.TargetGroup](tx, model.KindTargetGroup, model.ARNResourceID(tg.ARN)))(t)
		delete(old.Attributes, model.RelayAttribute)
		return tx.Put(core.Key(model.KindTargetGroup, model.ARNResourceID(tg.ARN)), old)
	}); err != nil {
		t.Fatal(err)
	}
	if got := relay(); got != "false" {
		t.Fatalf("an earlier version's group's %s is %q, want the default false", model.RelayAttribute, got)
	}
	for _, bad := range []string{"yes", "TRUE", ""} {
		_, err := c.ModifyTargetGroupAttributes(ctx, testAcct, tg.ARN, []ELBAttribute{{Key: model.RelayAttribute, Value: bad}})
		controltest.WantError(t, model.RelayAttribute+"="+bad, err, model.ErrInvalid, "", "")
	}
	if _, err := c.ModifyTargetGroupAttributes(ctx, testAcct, tg.ARN, []ELBAttribute{{Key: model.RelayAttribute, Value: "true"}}); err != nil {
		t.Fatal(err)
	}
	if got := controltest.Must(c.TargetGroup(ctx, testAcct, tg.ARN))(t); got.Attributes[model.RelayAttribute] != "true" || relay() != "true" {
		t.Fatalf("after setting it: stored %q, described %q", got.Attributes[model.RelayAttribute], relay())
	}
	if _, err := c.ModifyTargetGroupAttributes(ctx, testAcct, tg.ARN, []ELBAttribute{{Key: model.RelayAttribute, Value: "false"}}); err != nil || relay() != "false" {
		t.Fatalf("setting it back to false: %v, described %q", err, relay())
	}
}
