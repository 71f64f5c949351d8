package netns_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"strait/internal/agent/netns"
	"strait/internal/agent/netns/netnstest"
)

// A VPC namespace holds its nodes' transit addresses for the relay's
// transit listeners (SetTransitListeners), and a listener bound to
// TransitDevice takes connections that came over the transit link only: an
// instance of the VPC, or the namespace itself, sending to the same address
// and port is refused, whatever it claims. A listener without the device
// (the control) takes the instance's connection.
func TestTransitListenerOnlyFromTransit(t *testing.T) {
	h := netnstest.NewHost(t)
	vpcs := transitVPCs(t, h, "169.254.1.1", "169.254.1.2")
	a, b := vpcs[0].ID, vpcs[1].ID
	node := netip.MustParseAddr("169.254.2.7")
	if err := h.SetTransitRoutes(map[netip.Addr]netip.Addr{node: netip.MustParseAddr("169.254.1.2")}); err != nil {
		t.Fatal(err)
	}
	onLo := func() string { return ipIn(t, h.Namespace(b), "-4", "-o", "addr", "show", "dev", "lo") }
	// Set, removed, set again; the resolver's address stays.
	for _, addrs := range [][]netip.Addr{{node, netip.MustParseAddr("169.254.2.9")}, nil, {node}} {
		if err := h.SetTransitListeners(b, addrs); err != nil {
			t.Fatal(err)
		}
		got := onLo()
		for _, x := range []string{"169.254.2.7", "169.254.2.9"} {
			want := false
			for _, a := range addrs {
				want = want || a.String() == x
			}
			if strings.Contains(got, "inet "+x+"/32 ") != want {
				t.Fatalf("after SetTransitListeners(%v), lo holds: %s", addrs, got)
			}
		}
		if !strings.Contains(got, "inet 10.0.0.2/32 ") {
			t.Fatalf("the resolver's address is gone from lo: %s", got)
		}
	}
	if err := h.SetTransitListeners(b, []netip.Addr{netip.MustParseAddr("10.0.1.5")}); err == nil {
		t.Fatal("an address outside the transit range was accepted")
	}

	lns, errs, err := h.ListenAll(b, []netip.AddrPort{netip.AddrPortFrom(node, 7000)}, netns.TransitDevice)
	if err != nil || errs[0] != nil {
		t.Fatal(err, errs)
	}
	defer lns[0].Close()
	control, errs, err := h.ListenAll(b, []netip.AddrPort{netip.AddrPortFrom(node, 7001)}, "")
	if err != nil || errs[0] != nil {
		t.Fatal(err, errs)
	}
	defer control[0].Close()
	in := netnstest.Instance(t, h, vpcs[1], 0, "10.0.1.10")

	dial := func(id string, port uint16) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := h.Dial(ctx, id, netip.Addr{}, netip.AddrPortFrom(node, port))
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(a, 7000); err != nil {
		t.Fatalf("from another VPC over the transit link: %v", err)
	}
	for _, id := range []string{in.ID, b} {
		if err := dial(id, 7000); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("from %s (not over the transit link) to the transit listener: %v, want refused", id, err)
		}
	}
	if err := dial(in.ID, 7001); err != nil {
		t.Fatalf("the instance to the listener without a device (the control): %v", err)
	}
}
