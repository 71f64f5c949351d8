package netns_test

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"

	"strait/internal/agent/netns"
	"strait/internal/agent/netns/netnstest"
)

// transitVPCs sets up VPCs with the same CIDR (10.0.0.0/16, one subnet) linked
// to the transit namespace with the given transit addresses.
func transitVPCs(t testing.TB, h *netns.Host, addrs ...string) []netns.VPC {
	t.Helper()
	var vpcs []netns.VPC
	for _, a := range addrs {
		v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24")
		netnstest.EnsureVPC(t, h, v)
		if err := h.LinkTransit(v.ID, netip.MustParseAddr(a)); err != nil {
			t.Fatal(err)
		}
		vpcs = append(vpcs, v)
	}
	return vpcs
}

// transitLink is the name of the transit namespace's end of a VPC's link.
func transitLink(vpcID string) string { return "t" + vpcID[len(vpcID)-12:] }

// ipIn runs ip with args in the named namespace and returns its output.
func ipIn(t testing.TB, ns string, args ...string) string {
	t.Helper()
	return netnstest.Run(t, "ip", append([]string{"-n", ns}, args...)...)
}

// transitRoutes lists the transit namespace's main table, one route a line.
func transitRoutes(t testing.TB, h *netns.Host) []string {
	t.Helper()
	out := ipIn(t, h.TransitNamespace(), "-4", "route", "show")
	if out == "" {
		return nil
	}
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	slices.Sort(lines)
	return lines
}

// sysctl reads a /proc/sys value in the namespace of id ("" if it is missing).
func sysctl(t testing.TB, h *netns.Host, id, key string) string {
	t.Helper()
	var v []byte
	err := h.Do(id, func() (err error) {
		v, err = os.ReadFile("/proc/sys/" + key)
		if os.IsNotExist(err) {
			return nil
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(v))
}

// Two VPCs with the same CIDR reach each other's transit addresses, and the
// addresses the transit namespace routes via them, through the transit
// namespace, with their transit addresses as sources; the transit namespace
// drops a VPC's packets from an address routed to another VPC.
func TestTransitForwardsBetweenVPCs(t *testing.T) {
	h := netnstest.NewHost(t)
	vpcs := transitVPCs(t, h, "169.254.1.1", "169.254.1.2")
	a, b := vpcs[0].ID, vpcs[1].ID

	for key, want := range map[string]string{
		"net/ipv4/ip_forward":                             "1",
		"net/ipv4/conf/all/rp_filter":                     "1",
		"net/ipv4/conf/" + transitLink(a) + "/rp_filter":  "1",
		"net/ipv4/conf/" + transitLink(b) + "/rp_filter":  "1",
		"net/ipv4/conf/" + transitLink(b) + "/arp_ignore": "0",
	} {
		if got := sysctl(t, h, netns.TransitID, key); got != want {
			t.Errorf("transit namespace: %s = %q, want %q", key, got, want)
		}
	}
	for _, id := range []string{a, b} {
		if got := sysctl(t, h, id, "net/ipv4/ip_forward"); got != "1" {
			t.Errorf("%s: ip_forward = %q", id, got)
		}
		// The host has nf_conntrack loaded (it is there in every namespace then).
		if _, err := os.Stat("/proc/sys/net/netfilter/nf_conntrack_tcp_loose"); err == nil {
			if got := sysctl(t, h, id, "net/netfilter/nf_conntrack_tcp_loose"); got != "0" {
				t.Errorf("%s: nf_conntrack_tcp_loose = %q, want 0", id, got)
			}
		}
	}
	if got := ipIn(t, h.Namespace(a), "-4", "-o", "addr", "show", "dev", "transit"); !strings.Contains(got, "inet 169.254.1.1/32 ") {
		t.Errorf("A's transit link: %s", got)
	}
	if got := ipIn(t, h.Namespace(a), "-4", "route", "show", "dev", "transit"); got != "169.254.0.0/16 via 169.254.0.1 onlink" {
		t.Errorf("A's transit route: %q", got)
	}

	// B's own transit address, from A's (bound or chosen by the kernel).
	netnstest.Listen(t, h, b, "169.254.1.2:7000", "B")
	netnstest.MustAsk(t, h, a, "169.254.1.1", "169.254.1.2:7000", "B 169.254.1.1:*")
	netnstest.MustAsk(t, h, a, "", "169.254.1.2:7000", "B 169.254.1.1:*")

	// A load balancer node's address, routed via B.
	ipIn(t, h.Namespace(b), "addr", "add", "169.254.2.7/32", "dev", "lo")
	nodes := map[netip.Addr]netip.Addr{
		netip.MustParseAddr("169.254.2.7"): netip.MustParseAddr("169.254.1.2"),
		netip.MustParseAddr("169.254.2.8"): netip.MustParseAddr("169.254.1.2"),
	}
	if err := h.SetTransitRoutes(nodes); err != nil {
		t.Fatal(err)
	}
	netnstest.Listen(t, h, b, "169.254.2.7:7000", "node")
	netnstest.MustAsk(t, h, a, "", "169.254.2.7:7000", "node 169.254.1.1:*")

	// A claims B's node address 169.254.2.8 (on its lo) as source: the transit
	// namespace routes that address to B's link, not A's, and drops the packet.
	// B receives the honest datagrams sent before and after it, and nothing
	// between them. (The first one also resolves the transit gateway's MAC in A
	// with A's own address as the ARP sender, which the transit namespace would
	// not answer for the spoofed one.)
	ipIn(t, h.Namespace(a), "addr", "add", "169.254.2.8/32", "dev", "lo")
	rc, err := h.ListenUDP(b, netip.MustParseAddrPort("169.254.2.7:7001"))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	sent := []struct{ from, msg string }{{"169.254.1.1", "before"}, {"169.254.2.8", "spoofed"}, {"169.254.1.1", "after"}}
	for _, s := range sent {
		err := h.Do(a, func() error {
			c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(s.from+":0")), net.UDPAddrFromAddrPort(netip.MustParseAddrPort("169.254.2.7:7001")))
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Write([]byte(s.msg))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	rc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []string{"before", "after"} {
		buf := make([]byte, 64)
		n, src, err := rc.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != want || src.Addr() != netip.MustParseAddr("169.254.1.1") {
			t.Fatalf("B received %q from %s, want %q from 169.254.1.1 (the spoofed one dropped)", buf[:n], src, want)
		}
	}
}

// LinkTransit is idempotent, replaces a changed address with its route, and
// with no address removes the link; a VPC linked again is reachable again.
func TestLinkTransitRelinkAndReaddress(t *testing.T) {
	h := netnstest.NewHost(t)
	vpcs := transitVPCs(t, h, "169.254.1.1", "169.254.1.2")
	a, b := vpcs[0].ID, vpcs[1].ID
	netnstest.Listen(t, h, b, "169.254.1.2:7000", "B")

	links := ipIn(t, h.TransitNamespace(), "-o", "link", "show")
	routes := transitRoutes(t, h)
	start := time.Now()
	if err := h.LinkTransit(a, netip.MustParseAddr("169.254.1.1")); err != nil {
		t.Fatal(err)
	}
	t.Logf("LinkTransit with nothing to change: %v", time.Since(start))
	if got := ipIn(t, h.TransitNamespace(), "-o", "link", "show"); got != links {
		t.Fatalf("links changed by an idempotent LinkTransit:\n%s\nwas:\n%s", got, links)
	}
	if got := transitRoutes(t, h); !slices.Equal(got, routes) {
		t.Fatalf("routes changed by an idempotent LinkTransit: %q, was %q", got, routes)
	}

	// A new address replaces the old one, on both sides.
	if err := h.LinkTransit(a, netip.MustParseAddr("169.254.1.3")); err != nil {
		t.Fatal(err)
	}
	if got := ipIn(t, h.Namespace(a), "-4", "-o", "addr", "show", "dev", "transit"); !strings.Contains(got, "169.254.1.3/32") || strings.Contains(got, "169.254.1.1") {
		t.Fatalf("A's transit link after readdressing: %s", got)
	}
	want := []string{
		"169.254.1.2 dev " + transitLink(b) + " scope link",
		"169.254.1.3 dev " + transitLink(a) + " scope link",
	}
	if got := transitRoutes(t, h); !slices.Equal(got, want) {
		t.Fatalf("transit routes after readdressing: %q, want %q", got, want)
	}
	netnstest.MustAsk(t, h, a, "", "169.254.1.2:7000", "B 169.254.1.3:*")

	// No address: no link, twice.
	for range 2 {
		if err := h.LinkTransit(a, netip.Addr{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := ipIn(t, h.Namespace(a), "-o", "link", "show"); strings.Contains(got, "transit") {
		t.Fatalf("A still has its transit link:\n%s", got)
	}
	if got := ipIn(t, h.TransitNamespace(), "-o", "link", "show"); strings.Contains(got, transitLink(a)) {
		t.Fatalf("the transit namespace still has A's link:\n%s", got)
	}
	if got := transitRoutes(t, h); !slices.Equal(got, want[:1]) {
		t.Fatalf("transit routes after unlinking A: %q", got)
	}

	if err := h.LinkTransit(a, netip.MustParseAddr("169.254.1.1")); err != nil {
		t.Fatal(err)
	}
	netnstest.MustAsk(t, h, a, "", "169.254.1.2:7000", "B 169.254.1.1:*")

	for _, bad := range []string{"10.0.0.5", "169.254.0.7", "169.255.0.1"} {
		if err := h.LinkTransit(a, netip.MustParseAddr(bad)); err == nil {
			t.Errorf("LinkTransit with %s succeeded", bad)
		}
	}
	if err := h.LinkTransit(netnstest.RandomID("vpc"), netip.MustParseAddr("169.254.1.9")); err == nil {
		t.Error("LinkTransit of a VPC without namespace succeeded")
	}
}

// nodeRoutes holds the node addresses the route tests set routes to.
var nodeRoutes = &net.IPNet{IP: net.IPv4(169, 254, 2, 0), Mask: net.CIDRMask(24, 32)}

// routeEvents counts the changes to node routes in the transit namespace that
// fn makes, as the kernel reports them. (Replacing a route with an identical
// one is no change to the kernel and reports nothing: this counts changes, not
// requests; BenchmarkSetTransitRoutes shows what comparing first saves.)
func routeEvents(t *testing.T, h *netns.Host, fn func()) int {
	t.Helper()
	fd, release, err := h.NamespaceFd(netns.TransitID)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ns := vnetns.NsHandle(fd)
	updates := make(chan netlink.RouteUpdate, 4096)
	done := make(chan struct{})
	defer close(done)
	if err := netlink.RouteSubscribeWithOptions(updates, done, netlink.RouteSubscribeOptions{Namespace: &ns}); err != nil {
		t.Fatal(err)
	}
	fn()
	// A marker route in another table: every change fn made is reported before it.
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer nh.Close()
	lo, err := nh.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	marker := &netlink.Route{LinkIndex: lo.Attrs().Index, Dst: &net.IPNet{IP: net.IPv4(192, 0, 2, 1), Mask: net.CIDRMask(32, 32)}, Table: 100}
	if err := nh.RouteAdd(marker); err != nil {
		t.Fatal(err)
	}
	defer nh.RouteDel(marker)
	n := 0
	for u := range updates {
		if u.Table == 100 {
			return n
		}
		// Only the node routes (169.254.2.0/24) count: the kernel adds and
		// removes routes of its own meanwhile (IPv6 ones of links coming up).
		if u.Dst != nil && nodeRoutes.Contains(u.Dst.IP) {
			n++
		}
	}
	t.Fatal("route subscription ended")
	return 0
}

// SetTransitRoutes makes the transit namespace's routes via VPCs exactly the
// given ones, changing only what differs, and keeps the VPCs' own routes.
func TestSetTransitRoutes(t *testing.T) {
	h := netnstest.NewHost(t)
	if err := h.SetTransitRoutes(nil); err != nil {
		t.Fatalf("no routes before any link: %v", err)
	}
	vpcs := transitVPCs(t, h, "169.254.1.1", "169.254.1.2")
	la, lb := transitLink(vpcs[0].ID), transitLink(vpcs[1].ID)
	va, vb := netip.MustParseAddr("169.254.1.1"), netip.MustParseAddr("169.254.1.2")
	node := func(n int) netip.Addr { return netip.AddrFrom4([4]byte{169, 254, 2, byte(n)}) }

	routes := map[netip.Addr]netip.Addr{}
	for n := 1; n <= 20; n++ {
		routes[node(n)] = []netip.Addr{va, vb}[n%2]
	}
	check := func() {
		t.Helper()
		want := []string{"169.254.1.1 dev " + la + " scope link", "169.254.1.2 dev " + lb + " scope link"}
		for n, v := range routes {
			link := map[netip.Addr]string{va: la, vb: lb}[v]
			want = append(want, fmt.Sprintf("%s via %s dev %s onlink", n, v, link))
		}
		slices.Sort(want)
		if got := transitRoutes(t, h); !slices.Equal(got, want) {
			t.Fatalf("transit routes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	set := func() int {
		t.Helper()
		return routeEvents(t, h, func() {
			if err := h.SetTransitRoutes(routes); err != nil {
				t.Fatal(err)
			}
		})
	}
	if n := set(); n != 20 {
		t.Fatalf("setting 20 routes made %d route changes", n)
	}
	check()
	if n := set(); n != 0 {
		t.Fatalf("setting the same routes again made %d route changes", n)
	}
	routes[node(1)] = va // was via B
	delete(routes, node(2))
	routes[node(30)] = vb
	if n := set(); n != 3 {
		t.Fatalf("one change, one removal, one addition made %d route changes", n)
	}
	check()

	// A route via an address no VPC is linked with is reported; the rest are set.
	routes[node(31)] = netip.MustParseAddr("169.254.1.9")
	err := h.SetTransitRoutes(routes)
	if err == nil || !strings.Contains(err.Error(), "169.254.2.31") {
		t.Fatalf("route via an unlinked address: %v", err)
	}
	delete(routes, node(31))
	check()
	for _, bad := range []map[netip.Addr]netip.Addr{{netip.MustParseAddr("10.0.0.1"): va}, {node(40): netip.MustParseAddr("169.254.0.1")}, {va: vb}} {
		if err := h.SetTransitRoutes(bad); err == nil {
			t.Errorf("SetTransitRoutes(%v) succeeded", bad)
		}
	}
	check()

	if n := routeEvents(t, h, func() {
		if err := h.SetTransitRoutes(nil); err != nil {
			t.Fatal(err)
		}
	}); n != len(routes) {
		t.Fatalf("removing %d routes made %d route changes", len(routes), n)
	}
	routes = nil
	check()
}

// Removing a VPC removes its link and every route via it from the transit
// namespace; the other VPC's stay. Managed does not report the transit
// namespace, and Down removes it.
func TestTransitRemoveVPCAndDown(t *testing.T) {
	h := netnstest.NewHost(t)
	vpcs := transitVPCs(t, h, "169.254.1.1", "169.254.1.2")
	a, b := vpcs[0].ID, vpcs[1].ID
	err := h.SetTransitRoutes(map[netip.Addr]netip.Addr{
		netip.MustParseAddr("169.254.2.1"): netip.MustParseAddr("169.254.1.1"),
		netip.MustParseAddr("169.254.2.2"): netip.MustParseAddr("169.254.1.2"),
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := h.Managed()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values([]string{a, b}))) {
		t.Fatalf("Managed VPCs = %v, want %v", got, []string{a, b})
	}

	if err := h.RemoveVPC(a); err != nil {
		t.Fatal(err)
	}
	want := []string{"169.254.1.2 dev " + transitLink(b) + " scope link", "169.254.2.2 via 169.254.1.2 dev " + transitLink(b) + " onlink"}
	if got := transitRoutes(t, h); !slices.Equal(got, want) {
		t.Fatalf("transit routes after removing A: %q, want %q", got, want)
	}
	if got := ipIn(t, h.TransitNamespace(), "-o", "link", "show"); strings.Contains(got, transitLink(a)) {
		t.Fatalf("A's link is left in the transit namespace:\n%s", got)
	}
	// A's routes are gone: setting the others changes nothing.
	if err := h.SetTransitRoutes(map[netip.Addr]netip.Addr{netip.MustParseAddr("169.254.2.2"): netip.MustParseAddr("169.254.1.2")}); err != nil {
		t.Fatal(err)
	}
	if err := h.RemoveVPC(b); err != nil {
		t.Fatal(err)
	}
	if got := transitRoutes(t, h); len(got) != 0 {
		t.Fatalf("transit routes after removing both VPCs: %q", got)
	}
	if got := ipIn(t, h.TransitNamespace(), "-o", "link", "show"); strings.Count(got, "\n") != 0 || !strings.Contains(got, " lo:") {
		t.Fatalf("links left in the transit namespace:\n%s", got)
	}

	removed, err := netns.Down(h.Tag())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{h.TransitNamespace()}) {
		t.Fatalf("Down removed %v, want the transit namespace", removed)
	}
	if h.Exists(netns.TransitID) {
		t.Fatal("the transit namespace survived Down")
	}
}

// BenchmarkSetTransitRoutes sets 1,000 routes of which one changed since the
// last call.
func BenchmarkSetTransitRoutes(b *testing.B) {
	h := netnstest.NewHost(b)
	transitVPCs(b, h, "169.254.1.1", "169.254.1.2")
	vpc := []netip.Addr{netip.MustParseAddr("169.254.1.1"), netip.MustParseAddr("169.254.1.2")}
	routes := map[netip.Addr]netip.Addr{}
	for n := range 1000 {
		routes[netip.AddrFrom4([4]byte{169, 254, 10 + byte(n/250), byte(1 + n%250)})] = vpc[n%2]
	}
	if err := h.SetTransitRoutes(routes); err != nil {
		b.Fatal(err)
	}
	changed := netip.MustParseAddr("169.254.10.1")
	for i := 0; b.Loop(); i++ {
		routes[changed] = vpc[i%2]
		if err := h.SetTransitRoutes(routes); err != nil {
			b.Fatal(err)
		}
	}
}
