package network

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"strait/internal/control/controltest"
	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// wantTransit fails unless ip is an allocatable transit address.
func wantTransit(t *testing.T, what, ip string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(ip)
	if err != nil || !model.TransitRange.Contains(a) || model.TransitFixed.Contains(a) {
		t.Fatalf("%s: transit address %q is not in %s outside %s", what, ip, model.TransitRange, model.TransitFixed)
	}
	return a
}

// VPC and subnet ranges that overlap the transit range are refused with the
// range reasons (InvalidVpc.Range, InvalidSubnet.Range), saying why, and leave
// nothing behind.
func TestTransitRangeRefused(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	ctx := context.Background()
	for _, cidr := range []string{"169.254.0.0/16", "169.254.200.16/28"} {
		_, err := c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: cidr})
		de := controltest.WantError(t, "VPC "+cidr, err, model.ErrInvalid, "", model.ReasonVpcRange)
		if !strings.Contains(de.Msg, "reserved for Strait's transit path") {
			t.Errorf("VPC %s: message %q does not say the range is reserved", cidr, de.Msg)
		}
	}
	if vs, err := c.Vpcs(ctx, testAcct); err != nil || len(vs) != 0 {
		t.Fatalf("refused ranges left VPCs %+v (%v)", vs, err)
	}
	// Next to the range is fine.
	v := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "169.255.0.0/16"}))(t)
	_, err := c.CreateSubnet(ctx, testAcct, CreateSubnetInput{VpcID: v.ID, CIDR: "169.254.255.0/24"})
	de := controltest.WantError(t, "subnet in the transit range", err, model.ErrInvalid, "", model.ReasonSubnetRange)
	if !strings.Contains(de.Msg, "reserved for Strait's transit path") {
		t.Errorf("subnet: message %q does not say the range is reserved", de.Msg)
	}
}

// Concurrent CreateVpc calls, from two control planes over one store (as two
// servers of one region), give every VPC its own transit address.
func TestTransitUniqueUnderConcurrency(t *testing.T) {
	t.Parallel()
	st := controltest.OpenStore(t)
	planes := []*Network{New(core.New(st, core.Config{})), New(core.New(st, core.Config{}))}
	const perPlane = 12
	var mu sync.Mutex
	var vpcs []model.Vpc
	var wg sync.WaitGroup
	for _, c := range planes {
		for range perPlane {
			wg.Go(func() {
				v, err := c.CreateVpc(context.Background(), testAcct, CreateVpcInput{CIDR: "10.0.0.0/16"})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				vpcs = append(vpcs, v)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	seen := map[netip.Addr]string{}
	for _, v := range vpcs {
		a := wantTransit(t, v.ID, v.TransitIP)
		if other, dup := seen[a]; dup {
			t.Fatalf("VPCs %s and %s share transit address %s", other, v.ID, a)
		}
		seen[a] = v.ID
		stored := controltest.Must(planes[0].Vpc(context.Background(), testAcct, v.ID))(t)
		if stored.TransitIP != v.TransitIP {
			t.Fatalf("VPC %s: returned transit %s, stored %s", v.ID, v.TransitIP, stored.TransitIP)
		}
	}
	if len(seen) != 2*perPlane {
		t.Fatalf("%d distinct transit addresses for %d VPCs", len(seen), 2*perPlane)
	}
}

// Deleting a VPC frees its transit address; allocation is next-fit, so the
// address comes back only once the cursor has gone round the range, and then it
// does.
func TestTransitReleasedAndReused(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	ctx := context.Background()
	a := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.0.0.0/16"}))(t)
	if a.TransitIP != addr(transitFirst).String() {
		t.Fatalf("first VPC's transit address %s, want %s", a.TransitIP, addr(transitFirst))
	}
	if err := c.DeleteVpc(ctx, testAcct, a.ID); err != nil {
		t.Fatal(err)
	}
	if held(t, c, a.TransitIP) {
		t.Fatalf("deleted VPC's transit address %s is still recorded", a.TransitIP)
	}
	b := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.0.0.0/16"}))(t)
	if b.TransitIP == a.TransitIP {
		t.Fatalf("the freed address %s was handed out again at once", a.TransitIP)
	}
	// Move the cursor to the range's end: the next allocation takes the last
	// address, the one after wraps round to the freed first one.
	if err := c.Update(ctx, func(tx *store.Tx) error {
		return tx.Put(transitCursorKey, transitCursor{Next: addr(transitLast).String()})
	}); err != nil {
		t.Fatal(err)
	}
	last := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.0.0.0/16"}))(t)
	wrapped := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.0.0.0/16"}))(t)
	after := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.0.0.0/16"}))(t)
	if last.TransitIP != addr(transitLast).String() || wrapped.TransitIP != a.TransitIP || after.TransitIP == b.TransitIP {
		t.Fatalf("after the cursor's wrap: %s, %s, %s; want %s, %s (freed), then not %s (held)",
			last.TransitIP, wrapped.TransitIP, after.TransitIP, addr(transitLast), a.TransitIP, b.TransitIP)
	}
	wantTransit(t, "after the wrap", after.TransitIP)
}

// held reports whether a transit address has a record.
func held(t *testing.T, c *Network, ip string) bool {
	t.Helper()
	owner, err := c.TransitOwner(context.Background(), ip)
	return err == nil && owner != ""
}

// VPCs of an earlier version (no transit address) get one from
// AssignVpcTransit; VPCs that have one keep it, and a second run changes
// nothing.
func TestAssignVpcTransit(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	ctx := context.Background()
	keep := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.0.0.0/16"}))(t)
	var old []string
	for range 3 {
		v := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.1.0.0/16"}))(t)
		stripTransit(t, c, v)
		old = append(old, v.ID)
	}
	n, err := c.AssignVpcTransit(ctx)
	if err != nil || n != len(old) {
		t.Fatalf("AssignVpcTransit: %d assigned (%v), want %d", n, err, len(old))
	}
	seen := map[string]bool{keep.TransitIP: true}
	for _, id := range old {
		v := controltest.Must(c.Vpc(ctx, testAcct, id))(t)
		wantTransit(t, id, v.TransitIP)
		if seen[v.TransitIP] || !held(t, c, v.TransitIP) {
			t.Fatalf("VPC %s: transit address %s is shared or unrecorded", id, v.TransitIP)
		}
		seen[v.TransitIP] = true
	}
	if v := controltest.Must(c.Vpc(ctx, testAcct, keep.ID))(t); v.TransitIP != keep.TransitIP {
		t.Fatalf("VPC %s's transit address changed from %s to %s", keep.ID, keep.TransitIP, v.TransitIP)
	}
	if n, err := c.AssignVpcTransit(ctx); err != nil || n != 0 {
		t.Fatalf("second AssignVpcTransit: %d assigned (%v), want 0", n, err)
	}
}

// stripTransit makes a VPC look as an earlier version wrote it: no transit
// address, and no record of one.
func stripTransit(t *testing.T, c *Network, v model.Vpc) {
	t.Helper()
	if err := c.Update(context.Background(), func(tx *store.Tx) error {
		tx.Delete(transitKey(u32(netip.MustParseAddr(v.TransitIP))))
		v.TransitIP = ""
		return tx.Put(core.Key(model.KindVpc, v.ID), v)
	}); err != nil {
		t.Fatal(err)
	}
}

// Transit addresses live in the store: after a restart (the store reopened)
// a VPC has the same one, and new VPCs get others.
func TestTransitSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	open := func() (*store.Store, *Network) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		st, err := store.Open(ctx, store.Config{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return st, New(core.New(st, core.Config{}))
	}
	ctx := context.Background()
	st, c := open()
	v := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.0.0.0/16"}))(t)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, c = open()
	defer st.Close()
	if got := controltest.Must(c.Vpc(ctx, testAcct, v.ID))(t); got.TransitIP != v.TransitIP || !held(t, c, v.TransitIP) {
		t.Fatalf("after a restart VPC %s has transit %q (recorded: %v), want %s", v.ID, got.TransitIP, held(t, c, got.TransitIP), v.TransitIP)
	}
	w := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.0.0.0/16"}))(t)
	if w.TransitIP == v.TransitIP {
		t.Fatalf("a VPC created after the restart got %s, the address of %s", w.TransitIP, v.ID)
	}
	wantTransit(t, w.ID, w.TransitIP)
}
