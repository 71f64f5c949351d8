package firewall_test

import (
	"fmt"
	"net/netip"
	"testing"

	"strait/internal/agent/firewall"
	"strait/internal/agent/netns/netnstest"
)

// BenchmarkApplyVPC measures an apply to a VPC namespace with 200 endpoint
// addresses in a group that admits its members: one that changes elements only
// (an address and member comes or goes) and one that replaces the table (the
// rules' port changes).
func BenchmarkApplyVPC(b *testing.B) {
	h := netnstest.NewHost(b)
	nft, err := firewall.New(h, nil)
	if err != nil {
		b.Fatal(err)
	}
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24")
	netnstest.EnsureVPC(b, h, v)
	build := func(n int, port int32) (map[netip.Addr]firewall.Rules, map[string][]netip.Addr) {
		rules := firewall.Rules{Ingress: []firewall.Rule{{Protocol: "tcp", FromPort: port, ToPort: port, Group: "sg-1"}}}
		fw, groups := map[netip.Addr]firewall.Rules{}, map[string][]netip.Addr{}
		a := netip.MustParseAddr("10.0.16.4")
		for range n {
			fw[a] = rules
			groups["sg-1"] = append(groups["sg-1"], a)
			a = a.Next()
		}
		return fw, groups
	}
	for _, bc := range []struct {
		name         string
		n1, n2       int
		port1, port2 int32
	}{
		{"elements", 200, 201, 443, 443},
		{"table", 200, 200, 443, 444},
	} {
		b.Run(bc.name, func(b *testing.B) {
			fw1, g1 := build(bc.n1, bc.port1)
			fw2, g2 := build(bc.n2, bc.port2)
			if err := nft.ApplyVPC(v.ID, fw1, g1); err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				fw, g := fw2, g2
				if i%2 == 1 {
					fw, g = fw1, g1
				}
				if err := nft.ApplyVPC(v.ID, fw, g); err != nil {
					b.Fatal(fmt.Errorf("apply %d: %w", i, err))
				}
				i++
			}
		})
	}
}
