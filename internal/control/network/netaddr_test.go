package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// subnetIn creates a subnet with the given CIDR in a new VPC 10.0.0.0/16.
func subnetIn(t *testing.T, c *Network, cidr string) model.Subnet {
	t.Helper()
	ctx := context.Background()
	v, err := c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.0.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	sn, err := c.CreateSubnet(ctx, testAcct, CreateSubnetInput{VpcID: v.ID, CIDR: cidr, AZ: "us-east-1a"})
	if err != nil {
		t.Fatal(err)
	}
	return sn
}

// withSubnet runs fn on a subnet read in one transaction and writes it back.
func withSubnet(c *Network, id string, fn func(tx *store.Tx, sn *model.Subnet) error) error {
	return c.Update(context.Background(), func(tx *store.Tx) error {
		sn, err := core.TxGet[model.Subnet](tx, model.KindSubnet, id)
		if err != nil {
			return err
		}
		if err := fn(tx, &sn); err != nil {
			return err
		}
		return tx.Put(core.Key(model.KindSubnet, id), sn)
	})
}

// alloc allocates one address of a subnet in its own transaction.
func alloc(c *Network, id, owner, want string) (string, error) {
	var ip string
	err := withSubnet(c, id, func(tx *store.Tx, sn *model.Subnet) error {
		var err error
		ip, err = allocateIP(tx, sn, owner, want)
		return err
	})
	return ip, err
}

// release frees one address of a subnet in its own transaction.
func release(t *testing.T, c *Network, id, ip string) {
	t.Helper()
	if err := withSubnet(c, id, func(tx *store.Tx, sn *model.Subnet) error { releaseIP(tx, sn, ip); return nil }); err != nil {
		t.Fatal(err)
	}
}

// available reads a subnet's free address count as DescribeSubnets reports it.
func available(t *testing.T, c *Network, id string) int {
	t.Helper()
	sn, err := c.Subnet(context.Background(), testAcct, id)
	if err != nil {
		t.Fatal(err)
	}
	return AvailableIPs(sn)
}

func TestAllocateIPSkipsReservedAndUsed(t *testing.T) {
	c := newTestNetwork(t)
	sn := subnetIn(t, c, "10.0.1.0/28") // 16 addresses, 11 usable
	seen := map[string]bool{}
	for i := 0; i < 11; i++ {
		ip, err := alloc(c, sn.ID, "eni", "")
		if err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
		if want := fmt.Sprintf("10.0.1.%d", 4+i); ip != want {
			t.Fatalf("allocation %d: %s, want %s", i, ip, want)
		}
		if reserved(netip.MustParsePrefix(sn.CIDR), netip.MustParseAddr(ip)) || seen[ip] {
			t.Fatalf("allocated reserved or duplicate address %s", ip)
		}
		seen[ip] = true
	}
	if _, err := alloc(c, sn.ID, "eni", ""); !errors.Is(err, model.ErrLimit) {
		t.Fatalf("full subnet: %v", err)
	}
	if n := available(t, c, sn.ID); n != 0 {
		t.Fatalf("full subnet has %d available addresses", n)
	}
	release(t, c, sn.ID, "10.0.1.9")
	release(t, c, sn.ID, "10.0.1.6")
	release(t, c, sn.ID, "10.0.1.6") // twice: the second is a no-op
	if n := available(t, c, sn.ID); n != 2 {
		t.Fatalf("after two releases %d available addresses, want 2", n)
	}
	for _, want := range []string{"10.0.1.6", "10.0.1.9"} {
		if ip, err := alloc(c, sn.ID, "eni", ""); err != nil || ip != want {
			t.Fatalf("after release: %s %v, want %s", ip, err, want)
		}
	}
	if _, err := alloc(c, sn.ID, "eni", ""); !errors.Is(err, model.ErrLimit) {
		t.Fatalf("full subnet again: %v", err)
	}
}

func TestAllocateIPRequested(t *testing.T) {
	c := newTestNetwork(t)
	sn := subnetIn(t, c, "10.0.1.0/24")
	for _, bad := range []string{"10.0.1.0", "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.255", "10.0.2.10", "nonsense", "::1"} {
		if _, err := alloc(c, sn.ID, "eni", bad); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("requested %s: %v, want ErrInvalid", bad, err)
		}
	}
	if ip, err := alloc(c, sn.ID, "eni-a", "10.0.1.10"); err != nil || ip != "10.0.1.10" {
		t.Fatalf("requested 10.0.1.10: %s %v", ip, err)
	}
	if _, err := alloc(c, sn.ID, "eni-b", "10.0.1.10"); !errors.Is(err, model.ErrInUse) {
		t.Fatalf("requesting a used address: %v", err)
	}
	for i := 4; i < 12; i++ { // the automatic allocations go round 10.0.1.10
		want := fmt.Sprintf("10.0.1.%d", i)
		if i >= 10 {
			want = fmt.Sprintf("10.0.1.%d", i+1)
		}
		if ip, err := alloc(c, sn.ID, "eni-c", ""); err != nil || ip != want {
			t.Fatalf("next free address %s %v, want %s", ip, err, want)
		}
	}
	var rec model.IPAddress
	if err := c.Store().Get(context.Background(), ipKey(sn.ID, u32(netip.MustParseAddr("10.0.1.10"))), &rec); err != nil || rec != (model.IPAddress{IP: "10.0.1.10", Owner: "eni-a"}) {
		t.Fatalf("address record %+v %v", rec, err)
	}
	if n := available(t, c, sn.ID); n != 251-9 {
		t.Fatalf("%d available addresses, want %d", n, 251-9)
	}
}

func TestAllocateIPTwiceInOneTransaction(t *testing.T) {
	c := newTestNetwork(t)
	sn := subnetIn(t, c, "10.0.1.0/24")
	var got []string
	err := c.Update(context.Background(), func(tx *store.Tx) error {
		got = got[:0]
		for range 3 {
			eni, err := c.CreateENI(tx, ENISpec{SubnetID: sn.ID, Owner: testAcct, InterfaceType: model.ENITypeEndpoint})
			if err != nil {
				return err
			}
			got = append(got, eni.PrivateIP)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"10.0.1.4", "10.0.1.5", "10.0.1.6"}) {
		t.Fatalf("addresses %v", got)
	}
	if n := available(t, c, sn.ID); n != 248 {
		t.Fatalf("%d available, want 248", n)
	}
}

// TestAllocateIPConcurrent runs allocations in one subnet from two goroutines
// without the control's lock (as two servers on one etcd would): the store's
// transactions must conflict, so no address is handed out twice.
func TestAllocateIPConcurrent(t *testing.T) {
	c := newTestNetwork(t)
	sn := subnetIn(t, c, "10.0.1.0/24")
	ctx := context.Background()
	const workers, each = 2, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				err := c.Store().Update(ctx, func(tx *store.Tx) error {
					_, err := c.CreateENI(tx, ENISpec{SubnetID: sn.ID, Owner: testAcct, InterfaceType: model.ENITypeEndpoint})
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	enis, err := c.NetworkInterfaces(ctx, testAcct)
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, e := range enis {
		ips = append(ips, e.PrivateIP)
	}
	slices.SortFunc(ips, func(a, b string) int { return netip.MustParseAddr(a).Compare(netip.MustParseAddr(b)) })
	if len(ips) != workers*each {
		t.Fatalf("%d interfaces, want %d", len(ips), workers*each)
	}
	for i, ip := range ips {
		if want := fmt.Sprintf("10.0.1.%d", 4+i); ip != want {
			t.Fatalf("address %d is %s, want %s (all: %v)", i, ip, want, ips)
		}
	}
	if n := available(t, c, sn.ID); n != 251-workers*each {
		t.Fatalf("%d available, want %d", n, 251-workers*each)
	}
}

// oldSubnet is the subnet record as the previous version wrote it: every
// allocated address in its Used map.
type oldSubnet struct {
	ID                  string            `json:"id"`
	Owner               string            `json:"owner"`
	VpcID               string            `json:"vpcId"`
	CIDR                string            `json:"cidr"`
	AZ                  string            `json:"az"`
	AZID                string            `json:"azId"`
	State               string            `json:"state"`
	MapPublicIPOnLaunch bool              `json:"mapPublicIpOnLaunch"`
	ACLAssociationID    string            `json:"aclAssociationId"`
	Used                map[string]string `json:"used,omitempty"`
	Tags                model.Tags        `json:"tags,omitempty"`
	Created             time.Time         `json:"created"`
}

// writeOldSubnet rewrites a subnet's record in the previous version's format,
// with the given addresses allocated.
func writeOldSubnet(t *testing.T, c *Network, sn model.Subnet, used map[string]string) {
	t.Helper()
	old := oldSubnet{ID: sn.ID, Owner: sn.Owner, VpcID: sn.VpcID, CIDR: sn.CIDR, AZ: sn.AZ, AZID: sn.AZID, State: sn.State,
		ACLAssociationID: sn.ACLAssociationID, Used: used, Tags: sn.Tags, Created: sn.Created}
	if err := c.Store().Update(context.Background(), func(tx *store.Tx) error { return tx.Put(core.Key(model.KindSubnet, sn.ID), old) }); err != nil {
		t.Fatal(err)
	}
}

// oldAllocations are the addresses a previous version allocated in 10.0.1.0/24
// in the tests: 10.0.1.4 … 10.0.1.153 except 10.0.1.50 (149 addresses, one hole).
func oldAllocations() map[string]string {
	used := map[string]string{}
	for i := 4; i <= 153; i++ {
		if i != 50 {
			used[fmt.Sprintf("10.0.1.%d", i)] = fmt.Sprintf("eni-old%d", i)
		}
	}
	return used
}

func TestAllocateIPAfterOldFormatSubnet(t *testing.T) {
	c := newTestNetwork(t)
	ctx := context.Background()
	sn := subnetIn(t, c, "10.0.1.0/24")
	// 10.0.1.4 … 10.0.1.153 allocated by the previous version, except 10.0.1.50.
	used := oldAllocations()
	writeOldSubnet(t, c, sn, used)
	if n := available(t, c, sn.ID); n != 251-149 {
		t.Fatalf("old-format subnet: %d available, want %d", n, 251-149)
	}
	if err := c.DeleteSubnet(ctx, testAcct, sn.ID); !errors.Is(err, model.ErrInUse) {
		t.Fatalf("deleting an old-format subnet in use: %v", err)
	}
	// A released old address is free again, whether or not it was moved yet.
	release(t, c, sn.ID, "10.0.1.153")
	seen := map[string]bool{}
	var enis []string
	for i := range 10 {
		var eni model.NetworkInterface
		err := c.Update(ctx, func(tx *store.Tx) error {
			var err error
			eni, err = c.CreateENI(tx, ENISpec{SubnetID: sn.ID, Owner: testAcct, InterfaceType: model.ENITypeEndpoint})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]string{0: "10.0.1.50", 1: "10.0.1.153"}[i]
		if want == "" {
			want = fmt.Sprintf("10.0.1.%d", 154+i-2)
		}
		if eni.PrivateIP != want || used[eni.PrivateIP] != "" && eni.PrivateIP != "10.0.1.153" || seen[eni.PrivateIP] {
			t.Fatalf("allocation %d after the old format: %s, want %s", i, eni.PrivateIP, want)
		}
		seen[eni.PrivateIP] = true
		enis = append(enis, eni.ID)
		if n := available(t, c, sn.ID); n != 251-149-i {
			t.Fatalf("after allocation %d: %d available, want %d", i, n, 251-149-i)
		}
	}
	rec, err := c.Subnet(ctx, testAcct, sn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Used) != 0 || rec.UsedCount != 158 {
		t.Fatalf("after ten touches: %d old entries left, %d address records; want 0 and 158", len(rec.Used), rec.UsedCount)
	}
	count := 0
	if err := c.Store().List(ctx, ipPrefix(sn.ID), func(string, []byte) error { count++; return nil }); err != nil || count != 158 {
		t.Fatalf("%d address records (%v), want 158", count, err)
	}
	var r model.IPAddress
	if err := c.Store().Get(ctx, ipKey(sn.ID, u32(netip.MustParseAddr("10.0.1.77"))), &r); err != nil || r.Owner != "eni-old77" {
		t.Fatalf("moved record of 10.0.1.77: %+v %v", r, err)
	}
	// Releasing a moved address frees it, and the lowest free address is next.
	release(t, c, sn.ID, "10.0.1.77")
	if ip, err := alloc(c, sn.ID, "eni-x", ""); err != nil || ip != "10.0.1.77" {
		t.Fatalf("after releasing a moved address: %s %v", ip, err)
	}
	// Empty the subnet: every record is released and the subnet can go.
	for _, id := range enis {
		if err := c.Update(ctx, func(tx *store.Tx) error { return DeleteENI(tx, id) }); err != nil {
			t.Fatal(err)
		}
	}
	for ip := range used {
		release(t, c, sn.ID, ip)
	}
	if n := available(t, c, sn.ID); n != 251 {
		t.Fatalf("emptied subnet: %d available, want 251", n)
	}
	if err := c.DeleteSubnet(ctx, testAcct, sn.ID); err != nil {
		t.Fatalf("deleting the emptied subnet: %v", err)
	}
}

func TestParseCIDR(t *testing.T) {
	p, err := parseCIDR("100.68.0.18/18", 16, 28, model.ReasonVpcRange)
	if err != nil || p.String() != "100.68.0.0/18" {
		t.Fatalf("canonical form: %v %v", p, err)
	}
	for _, bad := range []string{"10.0.0.0/8", "10.0.0.0/29", "10.0.0.0", "fd00::/64", "x"} {
		if _, err := parseCIDR(bad, 16, 28, model.ReasonVpcRange); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestZones(t *testing.T) {
	z := core.ZonesOf("eu-west-1", 3)
	if z[0].Name != "eu-west-1a" || z[2].Name != "eu-west-1c" || z[0].ZoneID != "euw1-az1" || z[2].ZoneID != "euw1-az3" {
		t.Fatalf("zones %+v", z)
	}
}

// TestAllocateIPConflictRetries allocates in a subnet while another transaction
// takes the same address between the first one's reads and its commit: the
// first one must run again and take the next address.
func TestAllocateIPConflictRetries(t *testing.T) {
	c := newTestNetwork(t)
	sn := subnetIn(t, c, "10.0.1.0/24")
	runs := 0
	var got []string
	err := c.Store().Update(context.Background(), func(tx *store.Tx) error {
		runs++
		eni, err := c.CreateENI(tx, ENISpec{SubnetID: sn.ID, Owner: testAcct, InterfaceType: model.ENITypeEndpoint})
		if err != nil {
			return err
		}
		got = append(got, eni.PrivateIP)
		if runs == 1 {
			if ip, err := alloc(c, sn.ID, "eni-other", ""); err != nil || ip != "10.0.1.4" {
				t.Fatalf("interfering allocation: %s %v", ip, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if runs != 2 || !slices.Equal(got, []string{"10.0.1.4", "10.0.1.5"}) {
		t.Fatalf("ran %d times allocating %v; want twice, 10.0.1.4 then 10.0.1.5", runs, got)
	}
	if n := available(t, c, sn.ID); n != 249 {
		t.Fatalf("%d available, want 249", n)
	}
}

func TestMoveLegacyAddresses(t *testing.T) {
	c := newTestNetwork(t)
	ctx := context.Background()
	sn := subnetIn(t, c, "10.0.1.0/24")
	used := oldAllocations()
	writeOldSubnet(t, c, sn, used)
	if err := c.MoveLegacyAddresses(ctx); err != nil {
		t.Fatal(err)
	}
	rec, err := c.Subnet(ctx, testAcct, sn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Used) != 0 || rec.UsedCount != 149 || AvailableIPs(rec) != 251-149 {
		t.Fatalf("after moving: %d old entries, %d records, %d available; want 0, 149, %d", len(rec.Used), rec.UsedCount, AvailableIPs(rec), 251-149)
	}
	recs := map[string]string{}
	err = c.Store().List(ctx, ipPrefix(sn.ID), func(_ string, val []byte) error {
		var r model.IPAddress
		if err := json.Unmarshal(val, &r); err != nil {
			return err
		}
		recs[r.IP] = r.Owner
		return nil
	})
	if err != nil || !maps.Equal(recs, used) {
		t.Fatalf("address records differ from the old map (%v): %d records", err, len(recs))
	}
	for _, want := range []string{"10.0.1.50", "10.0.1.154"} {
		if ip, err := alloc(c, sn.ID, "eni-new", ""); err != nil || ip != want {
			t.Fatalf("allocation after moving: %s %v, want %s", ip, err, want)
		}
	}
	rev, err := c.Store().Rev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MoveLegacyAddresses(ctx); err != nil {
		t.Fatal(err)
	}
	if now, _ := c.Store().Rev(ctx); now != rev {
		t.Fatalf("moving with nothing left wrote: revision %d → %d", rev, now)
	}
}
