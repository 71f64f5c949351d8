package translate_test

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	osexec "os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"strait/internal/agent/netns"
	"strait/internal/agent/netns/netnstest"
	"strait/internal/agent/translate"
)

// world is a consumer VPC and a provider VPC with the same CIDR, an instance
// in each, and a transit namespace wired between them by hand (as package
// netns wires it).
type world struct {
	h            *netns.Host
	cons, prov   netns.VPC
	client, tgt  netns.Instance
	tgt2         netns.Instance
	tr           *translate.Translator
	eni, node    netip.AddrPort // the endpoint ENI:port, the node's transit address:port
	nodeENI      netip.Addr
	consT, provT netip.Addr
}

func newWorld(t *testing.T) *world {
	h := netnstest.NewHost(t)
	w := &world{h: h,
		cons: netnstest.VPC("10.0.0.0/16", "10.0.1.0/24"),
		prov: netnstest.VPC("10.0.0.0/16", "10.0.1.0/24"),
		eni:  netip.MustParseAddrPort("10.0.1.100:3306"), node: netip.MustParseAddrPort("169.254.2.7:3306"),
		nodeENI: netip.MustParseAddr("10.0.1.50"),
		consT:   netip.MustParseAddr("169.254.1.1"), provT: netip.MustParseAddr("169.254.1.2"),
	}
	netnstest.EnsureVPC(t, h, w.cons)
	netnstest.EnsureVPC(t, h, w.prov)
	w.client = netnstest.Instance(t, h, w.cons, 0, "10.0.1.5")
	w.tgt = netnstest.Instance(t, h, w.prov, 0, "10.0.1.10")
	w.tgt2 = netnstest.Instance(t, h, w.prov, 0, "10.0.1.11")
	if err := h.SetAddresses(w.cons.ID, []netns.ENI{{ID: "eni-c", SubnetID: w.cons.Subnets[0].ID, AZ: "us-east-1a", IP: w.eni.Addr()}}, w.cons); err != nil {
		t.Fatal(err)
	}
	if err := h.SetAddresses(w.prov.ID, []netns.ENI{{ID: "eni-n", SubnetID: w.prov.Subnets[0].ID, AZ: "us-east-1a", IP: w.nodeENI}}, w.prov); err != nil {
		t.Fatal(err)
	}
	x := h.Namespace("transit")
	run := func(args ...string) { netnstest.Run(t, "ip", args...) }
	run("netns", "add", x)
	t.Cleanup(func() { exec(t, "ip", "netns", "del", x) })
	run("-n", x, "link", "set", "lo", "up")
	run("-n", x, "addr", "add", "169.254.0.1/32", "dev", "lo")
	run("netns", "exec", x, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	for i, v := range []struct {
		id string
		a  netip.Addr
	}{{w.cons.ID, w.consT}, {w.prov.ID, w.provT}} {
		ns := h.Namespace(v.id)
		out := []string{"xc", "xp"}[i]
		run("-n", x, "link", "add", out, "type", "veth", "peer", "name", "transit", "netns", ns)
		run("-n", x, "link", "set", out, "up")
		run("-n", ns, "link", "set", "transit", "up")
		run("-n", ns, "addr", "add", v.a.String()+"/32", "dev", "transit")
		run("-n", ns, "route", "add", "169.254.0.0/16", "via", "169.254.0.1", "dev", "transit", "onlink")
		run("-n", x, "route", "add", v.a.String()+"/32", "dev", out)
		run("netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	}
	run("-n", x, "route", "add", w.node.Addr().String()+"/32", "via", w.provT.String(), "dev", "xp", "onlink")
	w.tr = translate.New(h.NamespaceFd, slog.Default())
	for _, id := range []string{w.tgt.ID, w.tgt2.ID} {
		netnstest.Listen(t, h, id, "0.0.0.0:3306", id)
	}
	return w
}

func exec(t *testing.T, name string, args ...string) {
	t.Helper()
	// Cleanup: ignore errors (the namespace may be gone already).
	_ = runQuiet(name, args...)
}

func (w *world) state(targets, registered []netip.AddrPort, entry bool) []translate.Namespace {
	c := translate.Namespace{VPC: w.cons.ID, Counted: []netip.Addr{w.eni.Addr()}}
	if entry {
		c.Entries = []translate.Entry{{ENI: w.eni, Node: w.node, Idle: 350 * time.Second}}
	}
	p := translate.Namespace{VPC: w.prov.ID, Exits: []translate.Exit{{Node: w.node, Source: w.nodeENI, Targets: targets, Registered: registered, Idle: 350 * time.Second}}}
	return []translate.Namespace{c, p}
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestTranslatedFlow(t *testing.T) {
	w := newWorld(t)
	t1, t2 := ap("10.0.1.10:3306"), ap("10.0.1.11:3306")
	if err := w.tr.Apply(w.state([]netip.AddrPort{t1}, []netip.AddrPort{t1, t2}, true)); err != nil {
		t.Fatal(err)
	}
	// The tables read back with nft (operators inspect them that way).
	for _, id := range []string{w.cons.ID, w.prov.ID} {
		out, err := osexec.Command("ip", "netns", "exec", w.h.Namespace(id), "nft", "list", "ruleset").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "table ip "+translate.TableName) {
			t.Fatalf("nft list ruleset in %s: %v\n%s", id, err, out)
		}
	}
	// The target sees the node's ENI address as its peer.
	netnstest.MustAsk(t, w.h, w.client.ID, "", w.eni.String(), w.tgt.ID+" 10.0.1.50:*")
	// Nothing else of the provider VPC is reachable: not the target, not the
	// node's transit address, not another port of the ENI.
	netnstest.MustTimeOut(t, w.h, w.client.ID, w.node.String())
	if _, err := netnstest.Ask(w.h, w.client.ID, "", "10.0.1.100:3307", 2*time.Second); err == nil {
		t.Fatal("another port of the ENI answered")
	}
	// Targets change by slot elements: t2 only.
	if err := w.tr.Apply(w.state([]netip.AddrPort{t2}, []netip.AddrPort{t1, t2}, true)); err != nil {
		t.Fatal(err)
	}
	netnstest.MustAsk(t, w.h, w.client.ID, "", w.eni.String(), w.tgt2.ID+" 10.0.1.50:*")
	counts, err := w.tr.Counters()
	if err != nil {
		t.Fatal(err)
	}
	c := counts[w.cons.ID][w.eni.Addr()]
	if c.Flows < 2 || c.BytesOut == 0 || c.BytesIn == 0 {
		t.Fatalf("counters %+v, want ≥ 2 flows and bytes both ways", c)
	}
	// Idempotent, and re-adoption by a new Translator keeps traffic flowing.
	if err := w.tr.Apply(w.state([]netip.AddrPort{t2}, []netip.AddrPort{t1, t2}, true)); err != nil {
		t.Fatal(err)
	}
	tr2 := translate.New(w.h.NamespaceFd, slog.Default())
	if err := tr2.Apply(w.state([]netip.AddrPort{t1}, []netip.AddrPort{t1, t2}, true)); err != nil {
		t.Fatal(err)
	}
	netnstest.MustAsk(t, w.h, w.client.ID, "", w.eni.String(), w.tgt.ID+" 10.0.1.50:*")
	// No entry: the ENI refuses.
	if err := tr2.Apply(w.state([]netip.AddrPort{t1}, []netip.AddrPort{t1}, false)); err != nil {
		t.Fatal(err)
	}
	if _, err := netnstest.Ask(w.h, w.client.ID, "", w.eni.String(), 2*time.Second); err == nil {
		t.Fatal("the ENI answered without an entry")
	}
	// Nothing: the tables go.
	if err := tr2.Apply(nil); err != nil {
		t.Fatal(err)
	}
	out := netnstest.Run(t, "ip", "netns", "exec", w.h.Namespace(w.cons.ID), "nft", "list", "tables")
	if strings.Contains(out, translate.TableName) {
		t.Fatalf("table left: %s", out)
	}
}

// TestCutFlows: a live flow through an entry ends (with a reset) when its
// target leaves the exit's registered set, and when its entry goes.
func TestCutFlows(t *testing.T) {
	w := newWorld(t)
	// A target that keeps connections open: answer, then wait.
	ln, err := w.h.Listen(w.tgt.ID, ap("0.0.0.0:4000"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := make([]byte, 64)
				for {
					if _, err := c.Read(b); err != nil {
						return
					}
					c.Write([]byte("pong"))
				}
			}()
		}
	}()
	eni, node, t1 := ap("10.0.1.100:4000"), ap("169.254.2.7:4000"), ap("10.0.1.10:4000")
	st := func(registered []netip.AddrPort, entry bool) []translate.Namespace {
		c := translate.Namespace{VPC: w.cons.ID, Counted: []netip.Addr{eni.Addr()}}
		if entry {
			c.Entries = []translate.Entry{{ENI: eni, Node: node, Idle: 350 * time.Second}}
		}
		return []translate.Namespace{c, {VPC: w.prov.ID, Exits: []translate.Exit{{Node: node, Source: w.nodeENI, Targets: registered, Registered: registered, Idle: 350 * time.Second}}}}
	}
	dial := func() net.Conn {
		c, err := w.h.Dial(t.Context(), w.client.ID, netip.Addr{}, eni)
		if err != nil {
			t.Fatal(err)
		}
		ping(t, c)
		return c
	}
	if err := w.tr.Apply(st([]netip.AddrPort{t1}, true)); err != nil {
		t.Fatal(err)
	}
	c := dial()
	// The listener's idle timeout is the flow's conntrack timeout on both
	// sides (the default would be five days).
	for vpc, dst := range map[string]netip.AddrPort{w.cons.ID: eni, w.prov.ID: node} {
		if got := flowTimeout(t, w, vpc, dst); got == 0 || got > 350 {
			t.Errorf("conntrack timeout of the flow to %s in %s: %d s, want ≤ 350", dst, vpc, got)
		}
	}
	counts, _ := w.tr.Active()
	if got := counts[w.cons.ID][eni.Addr()].Active; got != 1 {
		t.Fatalf("active flows %d, want 1", got)
	}
	if err := w.tr.Apply(st(nil, true)); err != nil { // the target is gone
		t.Fatal(err)
	}
	mustReset(t, c)
	if err := w.tr.Apply(st([]netip.AddrPort{t1}, true)); err != nil {
		t.Fatal(err)
	}
	c = dial()
	if err := w.tr.Apply(st([]netip.AddrPort{t1}, false)); err != nil { // the entry is gone
		t.Fatal(err)
	}
	mustReset(t, c)
}

func ping(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if _, err := c.Read(b); err != nil {
		t.Fatal(err)
	}
}

// mustReset checks that the connection's next exchange fails with a reset.
func mustReset(t *testing.T, c net.Conn) {
	t.Helper()
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("ping"))
	b := make([]byte, 4)
	_, err := c.Read(b)
	if err == nil || !errors.Is(err, syscallECONNRESET) {
		t.Fatalf("after the cut: %v, want a connection reset", err)
	}
}

// flowTimeout returns the seconds left of the established flow to dst in vpc's
// namespace (0 when there is none).
func flowTimeout(t *testing.T, w *world, vpc string, dst netip.AddrPort) uint32 {
	t.Helper()
	fd, release, err := w.h.NamespaceFd(vpc)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	h, err := netlink.NewHandleAt(vnetns.NsHandle(fd), unix.NETLINK_NETFILTER)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	flows, err := h.ConntrackTableList(netlink.ConntrackTable, unix.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flows {
		if f.Forward.DstIP.String() == dst.Addr().String() && f.Forward.DstPort == dst.Port() {
			return f.TimeOut
		}
	}
	return 0
}

// TestManyEntries: a thousand endpoints' entries and counters go in and out of
// one namespace in one Apply each (in several netlink batches).
func TestManyEntries(t *testing.T) {
	h := netnstest.NewHost(t)
	v := netnstest.VPC("10.0.0.0/16", "10.0.0.0/20")
	netnstest.EnsureVPC(t, h, v)
	tr := translate.New(h.NamespaceFd, slog.Default())
	ns := translate.Namespace{VPC: v.ID}
	for i := range 1000 {
		eni := netip.AddrFrom4([4]byte{10, 0, byte(i / 250), byte(1 + i%250)})
		ns.Entries = append(ns.Entries, translate.Entry{ENI: netip.AddrPortFrom(eni, 3306), Node: ap("169.254.9.9:3306"), Idle: 350 * time.Second})
		ns.Counted = append(ns.Counted, eni)
	}
	if err := tr.Apply([]translate.Namespace{ns}); err != nil {
		t.Fatal(err)
	}
	counts, err := tr.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if len(counts[v.ID]) != 1000 {
		t.Fatalf("%d counted addresses, want 1000", len(counts[v.ID]))
	}
	ns.Entries, ns.Counted = ns.Entries[:1], ns.Counted[:1]
	if err := tr.Apply([]translate.Namespace{ns}); err != nil {
		t.Fatal(err)
	}
	out := netnstest.Run(t, "ip", "netns", "exec", h.Namespace(v.ID), "nft", "list", "map", "ip", translate.TableName, "entries")
	if n := strings.Count(out, "goto"); n != 1 {
		t.Fatalf("%d entries left, want 1:\n%s", n, out)
	}
}
