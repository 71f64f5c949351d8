package firewall

import (
	"net/netip"
	"testing"
)

// Members and addresses that come and go are element updates; a change of rules
// is not.
func TestTableDelta(t *testing.T) {
	ip := netip.MustParseAddr
	self := Rules{Ingress: []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Group: "sg-1"}}}
	other := Rules{Ingress: []Rule{{Protocol: "tcp", FromPort: 443, ToPort: 443, Group: "sg-1"}}}
	groups := func(ips ...string) map[string][]netip.Addr {
		var m []netip.Addr
		for _, s := range ips {
			m = append(m, ip(s))
		}
		return map[string][]netip.Addr{"sg-1": m}
	}
	one := vpcTable(map[netip.Addr]Rules{ip("10.0.1.5"): self}, groups("10.0.1.5", "10.0.2.9"))
	two := vpcTable(map[netip.Addr]Rules{ip("10.0.1.5"): self, ip("10.0.1.6"): self}, groups("10.0.1.6", "10.0.2.9", "10.0.1.5"))

	if !one.equal(vpcTable(map[netip.Addr]Rules{ip("10.0.1.5"): self}, groups("10.0.2.9", "10.0.1.5"))) {
		t.Error("the same firewall gives different tables")
	}
	b, ok := one.delta(two)
	if !ok || len(b.changes) != 2 {
		t.Errorf("adding an address with the same rules: delta %v with %d changes, want 2 (set, map)", ok, len(b.changes))
	}
	if b, ok := two.delta(one); !ok || len(b.changes) != 2 {
		t.Errorf("removing it again: delta %v with %d changes, want 2", ok, len(b.changes))
	}
	if b, ok := one.delta(one); !ok || len(b.changes) != 0 {
		t.Errorf("no change: delta %v with %d changes", ok, len(b.changes))
	}
	three := vpcTable(map[netip.Addr]Rules{ip("10.0.1.5"): self, ip("10.0.1.6"): other}, groups("10.0.1.5", "10.0.1.6"))
	if _, ok := two.delta(three); ok {
		t.Error("a new chain was taken for an element update")
	}
	fewer := vpcTable(map[netip.Addr]Rules{ip("10.0.1.5"): {}}, nil)
	if _, ok := one.delta(fewer); ok {
		t.Error("a removed set was taken for an element update")
	}

	in1 := instanceTable(self, groups("10.0.1.5"), ip("10.0.0.2"))
	in2 := instanceTable(self, groups("10.0.1.5", "10.0.1.6"), ip("10.0.0.2"))
	if b, ok := in1.delta(in2); !ok || len(b.changes) != 1 {
		t.Errorf("instance, a new member: delta %v with %d changes, want 1", ok, len(b.changes))
	}
}

func TestAddrDiff(t *testing.T) {
	ip := netip.MustParseAddr
	a := []netip.Addr{ip("10.0.0.1"), ip("10.0.0.3"), ip("10.0.0.5")}
	b := []netip.Addr{ip("10.0.0.2"), ip("10.0.0.3"), ip("10.0.0.6"), ip("10.0.0.7")}
	onlyA, onlyB := addrDiff(a, b)
	if len(onlyA) != 2 || onlyA[0] != ip("10.0.0.1") || onlyA[1] != ip("10.0.0.5") {
		t.Errorf("only in a: %v", onlyA)
	}
	if len(onlyB) != 3 || onlyB[0] != ip("10.0.0.2") || onlyB[2] != ip("10.0.0.7") {
		t.Errorf("only in b: %v", onlyB)
	}
}

// BenchmarkVPCTableChange measures what one more endpoint address costs the
// firewall step with 1,000 in place: building the table and its difference.
func BenchmarkVPCTableChange(b *testing.B) {
	self := Rules{Ingress: []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Group: "sg-1"}}}
	fw := map[netip.Addr]Rules{}
	members := map[string][]netip.Addr{}
	addr := netip.MustParseAddr("10.0.16.4")
	for range 1000 {
		fw[addr] = self
		members["sg-1"] = append(members["sg-1"], addr)
		addr = addr.Next()
	}
	old := vpcTable(fw, members)
	fw[addr] = self
	members["sg-1"] = append(members["sg-1"], addr)
	for b.Loop() {
		t := vpcTable(fw, members)
		if _, ok := old.delta(t); !ok {
			b.Fatal("not an element update")
		}
	}
}
