package control

import (
	"errors"
	"net/netip"
	"testing"

	"strait/internal/model"
)

func TestAllocateIPSkipsReservedAndUsed(t *testing.T) {
	sn := &model.Subnet{ID: "subnet-1", CIDR: "10.0.1.0/28"} // 16 addresses, 11 usable
	seen := map[string]bool{}
	for i := 0; i < 11; i++ {
		ip, err := allocateIP(sn, "eni", "")
		if err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
		a := netip.MustParseAddr(ip)
		if reserved(netip.MustParsePrefix(sn.CIDR), a) || seen[ip] {
			t.Fatalf("allocated reserved or duplicate address %s", ip)
		}
		seen[ip] = true
	}
	if _, ok := seen["10.0.1.4"]; !ok {
		t.Errorf("the first usable address 10.0.1.4 was not handed out: %v", seen)
	}
	if _, err := allocateIP(sn, "eni", ""); !errors.Is(err, model.ErrLimit) {
		t.Fatalf("full subnet: %v", err)
	}
	releaseIP(sn, "10.0.1.9")
	if ip, err := allocateIP(sn, "eni", ""); err != nil || ip != "10.0.1.9" {
		t.Fatalf("after release: %s %v", ip, err)
	}
}

func TestAllocateIPRequested(t *testing.T) {
	sn := &model.Subnet{ID: "subnet-1", CIDR: "10.0.1.0/24"}
	for _, bad := range []string{"10.0.1.0", "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.255", "10.0.2.10", "nonsense", "::1"} {
		if _, err := allocateIP(sn, "eni", bad); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("requested %s: %v, want ErrInvalid", bad, err)
		}
	}
	if ip, err := allocateIP(sn, "eni-a", "10.0.1.10"); err != nil || ip != "10.0.1.10" {
		t.Fatalf("requested 10.0.1.10: %s %v", ip, err)
	}
	if _, err := allocateIP(sn, "eni-b", "10.0.1.10"); !errors.Is(err, model.ErrInUse) {
		t.Fatalf("requesting a used address: %v", err)
	}
	if ip, _ := allocateIP(sn, "eni-c", ""); ip != "10.0.1.4" {
		t.Fatalf("next free address %s, want 10.0.1.4", ip)
	}
}

func TestParseCIDR(t *testing.T) {
	p, err := parseCIDR("100.68.0.18/18", 16, 28)
	if err != nil || p.String() != "100.68.0.0/18" {
		t.Fatalf("canonical form: %v %v", p, err)
	}
	for _, bad := range []string{"10.0.0.0/8", "10.0.0.0/29", "10.0.0.0", "fd00::/64", "x"} {
		if _, err := parseCIDR(bad, 16, 28); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestZones(t *testing.T) {
	z := zonesOf("eu-west-1", 3)
	if z[0].Name != "eu-west-1a" || z[2].Name != "eu-west-1c" || z[0].ZoneID != "euw1-az1" || z[2].ZoneID != "euw1-az3" {
		t.Fatalf("zones %+v", z)
	}
}
