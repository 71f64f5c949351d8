package dns

import (
	"fmt"
	"net/netip"
	"testing"
)

// scaleRecords are the names of a VPC with n endpoints to one service (a
// regional and a zonal name on one address each) and an instance.
func scaleRecords(n int) map[string][]netip.Addr {
	out := map[string][]netip.Addr{"ip-10-0-1-5.ec2.internal.": {netip.MustParseAddr("10.0.1.5")}}
	for i := range n {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(16 + i/250), byte(4 + i%250)})
		id := fmt.Sprintf("vpce-%017x", i)
		out[id+"-abcd1234.vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com."] = []netip.Addr{ip}
		out[id+"-abcd1234-us-east-1b.vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com."] = []netip.Addr{ip}
	}
	return out
}

// BenchmarkSetRecords measures one SetRecords of a VPC with 1,000 endpoints
// (2,001 names) where one endpoint was added since the last call, as a
// reconcile pass gives the resolver after one CreateVpcEndpoint.
func BenchmarkSetRecords(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("endpoints=%d", n), func(b *testing.B) {
			s := New(nil)
			before, after := scaleRecords(n-1), scaleRecords(n)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%2 == 0 {
					s.SetRecords(after)
				} else {
					s.SetRecords(before)
				}
			}
		})
	}
}
