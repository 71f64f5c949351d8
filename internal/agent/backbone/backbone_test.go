package backbone_test

import (
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"

	"strait/internal/agent/backbone"
	"strait/internal/agent/netns"
	"strait/internal/agent/netns/netnstest"
)

// Encrypted: instances of one VPC on two hosts reach each other, VPCs with
// the same CIDR stay apart, transit addresses route across hosts, the
// underlay carries only WireGuard (no payload in clear), a restarted backbone
// adopts its devices, and Down leaves nothing.
// In ModeAuto that is the kernel's WireGuard where the kernel has it, else
// wireguard-go.
func TestBackboneEncrypted(t *testing.T) { testBackbone(t, backbone.ModeAuto) }

// wireguard-go where the kernel has WireGuard (elsewhere TestBackboneEncrypted
// runs it).
func TestBackboneUserspace(t *testing.T) {
	if !backbone.KernelWireGuard() {
		t.Skip("this kernel has no WireGuard: TestBackboneEncrypted runs wireguard-go")
	}
	testBackbone(t, backbone.ModeUserspace)
}

// Plain: the same, but the payload is visible on the underlay (so the capture
// of the encrypted test can see a leak).
func TestBackbonePlain(t *testing.T) { testBackbone(t, backbone.ModePlain) }

func testBackbone(t *testing.T, mode string) {
	d := newDatacenter(t)
	marker := "strait-marker-" + netnstest.RandomID("m")
	cap := d.startCapture(t, marker)

	var keys [2]backbone.Key
	var pubs [2]backbone.Key
	for i := range keys {
		var err error
		if keys[i], err = backbone.GenerateKey(); err != nil {
			t.Fatal(err)
		}
		pubs[i], _ = keys[i].PublicKey()
	}
	secret := []byte("a pair secret of the control plane")
	psk, err := backbone.PairKey(secret, "host-1", "host-2")
	if err != nil {
		t.Fatal(err)
	}
	if psk2, _ := backbone.PairKey(secret, "host-2", "host-1"); psk2 != psk {
		t.Fatal("PairKey depends on the order of the hosts")
	}

	// Two VPCs with the same CIDR, each with a subnet (and an instance at the
	// same address) on each host.
	vpcA, vpcB := netnstest.RandomID("vpc"), netnstest.RandomID("vpc")
	cidr := netip.MustParsePrefix("10.0.0.0/16")
	sub1, sub2 := netip.MustParsePrefix("10.0.1.0/24"), netip.MustParsePrefix("10.0.2.0/24")
	var hosts [2]hostSide
	var inst [2]map[string]string // host → VPC → its instance
	for i := range hosts {
		h := &hosts[i]
		h.id = fmt.Sprintf("host-%d", i+1)
		h.nh = netnstest.NewHost(t)
		h.bb = d.newBackbone(t, i, h.nh.Tag(), mode, keys[i])
		t.Cleanup(func() { h.bb.Down() })
		sub := []netip.Prefix{sub1, sub2}[i]
		inst[i] = map[string]string{}
		for _, vpc := range []string{vpcA, vpcB} {
			v := netns.VPC{ID: vpc, CIDR: cidr, Subnets: []netns.Subnet{{ID: netnstest.RandomID("subnet"), CIDR: sub, AZ: "us-east-1a"}}}
			netnstest.EnsureVPC(t, h.nh, v)
			in := netnstest.Instance(t, h.nh, v, 0, sub.Addr().Next().Next().Next().String()) // .3
			inst[i][vpc] = in.ID
			who := map[string]string{vpcA: "A", vpcB: "B"}[vpc]
			netnstest.Listen(t, h.nh, in.ID, netip.AddrPortFrom(in.IP, 80).String(), fmt.Sprintf("%s-%s-%s", who, h.id, marker))
		}
	}
	if want, _ := backbone.MethodFor(mode); hosts[0].bb.Method() != want {
		t.Fatalf("method %q in mode %s, want %q", hosts[0].bb.Method(), mode, want)
	}
	vni := map[string]uint32{vpcA: backbone.DefaultVNI(vpcA), vpcB: backbone.DefaultVNI(vpcB)}
	apply := func(h hostSide, i int) {
		t.Helper()
		other := hosts[1-i]
		if err := h.bb.SetPeers([]backbone.Peer{{HostID: other.id, Underlay: d.addrs[1-i], Keys: backbone.Keys{Public: pubs[1-i], Preshared: psk}}}); err != nil {
			t.Fatal(err)
		}
		remote := []netip.Prefix{sub2, sub1}[i]
		for _, vpc := range []string{vpcA, vpcB} {
			if err := h.bb.SetVPC(vpc, vni[vpc], h.nh.Namespace(vpc), map[netip.Prefix]string{remote: other.id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, h := range hosts {
		apply(h, i)
	}

	// The two VPCs cannot share a VNI.
	if err := hosts[0].bb.SetVPC(vpcB, vni[vpcA], hosts[0].nh.Namespace(vpcB), nil); err == nil {
		t.Fatal("SetVPC gave VPC B the VNI of VPC A")
	}

	// A WireGuard session starts with the first packet; wait for it (a
	// handshake that crosses the peer's is retried after 5 seconds).
	waitReach(t, hosts[0].nh, inst[0][vpcA], "10.0.2.3:80")

	// Same VPC across hosts, both ways; the same CIDR in the other VPC is
	// never reached.
	for i, h := range hosts {
		for _, vpc := range []string{vpcA, vpcB} {
			who := map[string]string{vpcA: "A", vpcB: "B"}[vpc]
			dst := []string{"10.0.2.3:80", "10.0.1.3:80"}[i]
			src := []string{"10.0.1.3", "10.0.2.3"}[i]
			netnstest.MustAsk(t, h.nh, inst[i][vpc], "", dst, fmt.Sprintf("%s-%s-%s %s:*", who, hosts[1-i].id, marker, src))
		}
	}
	cap.flush(t, d)
	matched, wgFrames := cap.counts(backbone.DefaultListenPort)
	_, vxFrames := cap.counts(backbone.VXLANPort)
	encrypted := mode != backbone.ModePlain
	switch {
	case encrypted:
		if matched != 0 || vxFrames != 0 {
			t.Errorf("encrypted backbone: %d frames on the underlay hold the payload, %d are VXLAN in clear", matched, vxFrames)
		}
		if wgFrames == 0 {
			t.Errorf("encrypted backbone: no WireGuard frames on the underlay")
		}
	default:
		if matched == 0 || vxFrames == 0 {
			t.Errorf("plain backbone: %d frames hold the payload, %d are VXLAN: the capture sees nothing", matched, vxFrames)
		}
	}

	// Nothing on the underlay side can inject VXLAN when encrypted: the host
	// namespace has no VXLAN socket (its port is free), only WireGuard's.
	free := vxlanPortFree(t, d.hosts[0])
	if want := encrypted; free != want {
		t.Errorf("VXLAN port free in the host namespace: %v, want %v", free, want)
	}

	// VPC A leaves host 2: its probe finds nothing there, not VPC B's
	// instance at the same address; VPC B still works.
	if err := hosts[1].bb.RemoveVPC(vpcA, hosts[1].nh.Namespace(vpcA)); err != nil {
		t.Fatal(err)
	}
	netnstest.MustTimeOut(t, hosts[0].nh, inst[0][vpcA], "10.0.2.3:80")
	netnstest.MustAsk(t, hosts[0].nh, inst[0][vpcB], "", "10.0.2.3:80", "B-host-2-*")
	if slices.Contains(linksIn(t, hosts[1].nh.Namespace(vpcA)), backbone.LinkName) {
		t.Errorf("RemoveVPC left %s in the VPC namespace", backbone.LinkName)
	}

	// Transit: host 1's VPC B and host 2's VPC A hold transit addresses; each
	// host routes the other's node-like address and host address across the
	// backbone, and translates what it sends there to its host address. Host
	// 2's VPC B has the same transit address as host 1's (a VPC on both
	// hosts): the reply still goes back to host 1, by its host address.
	tr := [2]netip.Addr{netip.MustParseAddr("169.254.3.1"), netip.MustParseAddr("169.254.7.12")}
	src := [2]netip.Addr{netip.MustParseAddr("169.254.0.3"), netip.MustParseAddr("169.254.0.4")}
	setTransit := func(i int) {
		t.Helper()
		routes := map[netip.Addr]string{src[1-i]: hosts[1-i].id}
		if i == 0 {
			routes[tr[1]] = hosts[1].id
		}
		if err := hosts[i].bb.SetTransit(hosts[i].nh.TransitNamespace(), src[i], routes); err != nil {
			t.Fatal(err)
		}
	}
	for _, link := range []struct {
		host int
		vpc  string
		addr netip.Addr
	}{{0, vpcB, tr[0]}, {1, vpcA, tr[1]}, {1, vpcB, tr[0]}} {
		if err := hosts[link.host].nh.LinkTransit(link.vpc, link.addr); err != nil {
			t.Fatal(err)
		}
	}
	setTransit(0)
	setTransit(1)
	netnstest.Listen(t, hosts[1].nh, vpcA, netip.AddrPortFrom(tr[1], 8080).String(), "transit")
	netnstest.MustAsk(t, hosts[0].nh, vpcB, tr[0].String(), netip.AddrPortFrom(tr[1], 8080).String(), "transit 169.254.0.3:*")

	// A restarted backbone adopts the devices it finds (same interface) and
	// traffic flows again.
	// The kernel's WireGuard device is adopted too (wireguard-go's TUN device
	// goes with the process).
	kernelWG := hosts[0].bb.Method() == backbone.MethodWireGuard
	endpointNS, wgDev := backbone.EndpointNSName(hosts[0].nh.Tag()), backbone.DeviceName(hosts[0].nh.Tag())
	before := linkIndex(t, hosts[0].nh.Namespace(vpcB), backbone.LinkName)
	var wgBefore int
	if kernelWG {
		wgBefore = linkIndex(t, endpointNS, wgDev)
	}
	if err := hosts[0].bb.Close(); err != nil {
		t.Fatal(err)
	}
	hosts[0].bb = d.newBackbone(t, 0, hosts[0].nh.Tag(), mode, keys[0])
	apply(hosts[0], 0)
	setTransit(0)
	if after := linkIndex(t, hosts[0].nh.Namespace(vpcB), backbone.LinkName); after != before {
		t.Errorf("the restarted backbone replaced VPC B's device (index %d, was %d)", after, before)
	}
	if kernelWG {
		if after := linkIndex(t, endpointNS, wgDev); after != wgBefore {
			t.Errorf("the restarted backbone replaced the kernel's WireGuard device (index %d, was %d)", after, wgBefore)
		}
	}
	waitReach(t, hosts[0].nh, inst[0][vpcB], "10.0.2.3:80")
	netnstest.MustAsk(t, hosts[0].nh, inst[0][vpcB], "", "10.0.2.3:80", "B-host-2-*")
	netnstest.MustAsk(t, hosts[0].nh, vpcB, tr[0].String(), netip.AddrPortFrom(tr[1], 8080).String(), "transit 169.254.0.3:*")

	// Down removes every device it made.
	for i, h := range hosts {
		if err := h.bb.Down(); err != nil {
			t.Fatal(err)
		}
		for _, ns := range []string{h.nh.Namespace(vpcA), h.nh.Namespace(vpcB), h.nh.TransitNamespace()} {
			if slices.Contains(linksIn(t, ns), backbone.LinkName) {
				t.Errorf("Down left %s in %s", backbone.LinkName, ns)
			}
		}
		if out, err := exec.Command("ip", "netns", "exec", h.nh.TransitNamespace(), "nft", "list", "table", "ip", backbone.TransitTable).CombinedOutput(); err == nil {
			t.Errorf("Down left table %s in the transit namespace:\n%s", backbone.TransitTable, out)
		}
		if got := linksIn(t, d.hosts[i]); !slices.Equal(got, []string{"lo", "eth0"}) {
			t.Errorf("host namespace after Down: links %v, want [lo eth0]", got)
		}
		if _, err := backbone.OpenNS(backbone.EndpointNSName(h.nh.Tag())); err == nil {
			t.Errorf("Down left namespace %s", backbone.EndpointNSName(h.nh.Tag()))
		}
	}
}

// linkIndex is the index of a device in a namespace.
func linkIndex(t *testing.T, ns, name string) int {
	t.Helper()
	var idx int
	err := backbone.WithLinks(ns, func(_ vnetns.NsHandle, nh *netlink.Handle) error {
		l, err := nh.LinkByName(name)
		if err == nil {
			idx = l.Attrs().Index
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// vxlanPortFree reports whether UDP port 4789 can be bound in a namespace
// (IPv4 and IPv6), that is whether no VXLAN device listens there.
func vxlanPortFree(t *testing.T, name string) bool {
	t.Helper()
	ns, err := backbone.OpenNS(name)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	free := true
	err = backbone.RunIn(ns, func() error {
		for _, network := range []string{"udp4", "udp6"} {
			c, err := net.ListenPacket(network, fmt.Sprintf(":%d", backbone.VXLANPort))
			if err != nil {
				free = false
				continue
			}
			c.Close()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return free
}

// waitReach waits until a connection from id to addr gets an answer.
func waitReach(t *testing.T, h *netns.Host, id, addr string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; {
		_, err := netnstest.Ask(h, id, "", addr, 2*time.Second)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("from %s to %s: %v", id, addr, err)
		}
	}
}
