package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A Datacenter stands in for machines on a network, so that a test can run a
// server and `strait agent` processes as different hosts on one machine: a
// "dc" network namespace holds a bridge (the underlay), and each Machine is a
// network namespace with a veth onto that bridge. Processes started in a
// machine (nsenter --net) keep the test's mounts, so /var/run/netns and the
// data directories stay shared.
//
// Addresses come from 198.18.0.0/15 (RFC 2544's benchmark range): the
// underlay is 198.18.0.0/24 inside the test's own namespaces; the one link to
// the root namespace (Machine.LinkRoot, for the test's API clients) is a /30 in
// 198.19.0.0/16 that no other running test has. Names are unique per test
// ("stn" and 6 random hex digits), and everything is removed when the test ends
// (or by the next test's sweep if the test process is killed).
type Datacenter struct {
	// Netns is the name of the datacenter namespace (holding the bridge).
	Netns string
	// Bridge is the bridge's name inside Netns.
	Bridge string
	prefix string
	hosts  int // machines so far: the next gets 198.18.0.<hosts+1>
}

// Machine is a network namespace on a Datacenter's underlay.
type Machine struct {
	// Netns is the name of its namespace (/var/run/netns/<Netns>).
	Netns string
	// Addr is its underlay address (on eth0, 198.18.0.0/24).
	Addr netip.Addr
	// RootAddr is its address on the link to the root namespace (LinkRoot;
	// invalid without one).
	RootAddr netip.Addr
}

// underlay is the datacenter network; rootLinks the range of the root links.
var (
	underlay  = netip.MustParsePrefix("198.18.0.0/24")
	rootLinks = netip.MustParsePrefix("198.19.0.0/16")
)

// NewDatacenter creates the datacenter namespace and its bridge (root only);
// they are removed when the test ends, after the machines (cleanups registered
// later run first).
func NewDatacenter(t testing.TB) *Datacenter {
	t.Helper()
	RequireRoot(t)
	if _, err := exec.LookPath("nsenter"); err != nil {
		SkipUnlessE2E(t, "nsenter (util-linux) is not installed")
	}
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	d := &Datacenter{prefix: "stn" + hex.EncodeToString(b), Bridge: "br0"}
	d.Netns = d.prefix + "-dc"
	d.addNetns(t, d.Netns)
	ipCmd(t, "-n", d.Netns, "link", "add", d.Bridge, "type", "bridge")
	ipCmd(t, "-n", d.Netns, "link", "set", d.Bridge, "up")
	return d
}

// Machine creates a machine named name (at most 4 characters, unique in the
// datacenter) with the next underlay address on its eth0.
func (d *Datacenter) Machine(t testing.TB, name string) *Machine {
	t.Helper()
	if len(name) > 4 || strings.ContainsAny(name, "-/ ") {
		t.Fatalf("machine name %q: at most 4 characters, no '-', '/' or space", name)
	}
	d.hosts++
	addr := underlay.Addr()
	for range d.hosts {
		addr = addr.Next()
	}
	if !underlay.Contains(addr.Next()) {
		t.Fatal("the datacenter is full")
	}
	m := &Machine{Netns: d.prefix + "-" + name, Addr: addr}
	d.addNetns(t, m.Netns)
	// eth0 in the machine, its peer (named after the machine) a port of the bridge.
	ipCmd(t, "link", "add", "eth0", "netns", m.Netns, "type", "veth", "peer", "name", name, "netns", d.Netns)
	ipCmd(t, "-n", d.Netns, "link", "set", name, "master", d.Bridge, "up")
	ipCmd(t, "-n", m.Netns, "addr", "add", netip.PrefixFrom(addr, underlay.Bits()).String(), "dev", "eth0")
	ipCmd(t, "-n", m.Netns, "link", "set", "eth0", "up")
	return m
}

// LinkRoot joins the machine to the root namespace by a veth pair with a /30
// of 198.19.0.0/16 that no other test uses, so that the test process (SDK
// clients, the aws and strait CLIs) reaches servers listening on RootAddr. The
// link is removed when the test ends.
func (m *Machine) LinkRoot(t testing.TB) netip.Addr {
	t.Helper()
	rootEnd := strings.ReplaceAll(m.Netns, "-", "") // at most 13 characters
	// Choosing a free /30 and taking it is one step among the tests of
	// every process (they may run in parallel).
	if err := os.MkdirAll(leftoverDir, 0o700); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(leftoverDir, ".rootlinks.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	used := map[netip.Addr]bool{}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && rootLinks.Contains(p.Addr()) {
			used[p.Masked().Addr()] = true
		}
	}
	block := rootLinks.Addr()
	for used[block] {
		for range 4 {
			block = block.Next()
		}
		if !rootLinks.Contains(block) {
			t.Fatal("no free /30 in " + rootLinks.String())
		}
	}
	inside, outside := block.Next(), block.Next().Next()
	ipCmd(t, "link", "add", rootEnd, "type", "veth", "peer", "name", "root", "netns", m.Netns)
	// Removed with the namespace too, but asynchronously (the kernel's netns
	// cleanup): deleted here first, so it is gone when the test ends.
	t.Cleanup(func() {
		if _, err := net.InterfaceByName(rootEnd); err != nil {
			return
		}
		if out, err := exec.Command("ip", "link", "delete", rootEnd).CombinedOutput(); err != nil {
			t.Errorf("ip link delete %s: %v: %s", rootEnd, err, out)
		}
	})
	ipCmd(t, "addr", "add", netip.PrefixFrom(outside, 30).String(), "dev", rootEnd)
	ipCmd(t, "link", "set", rootEnd, "up")
	ipCmd(t, "-n", m.Netns, "addr", "add", netip.PrefixFrom(inside, 30).String(), "dev", "root")
	ipCmd(t, "-n", m.Netns, "link", "set", "root", "up")
	m.RootAddr = inside
	return inside
}

// Command is a command run inside the machine's network namespace (nsenter
// --net: mounts, PID namespace and the rest stay the test's).
func (m *Machine) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=" + nsRunPath(m.Netns), "--", name}, args...)...)
}

// StartServer runs a `strait server` process (StartProcess with cfg) in a new
// machine "srv": its API on the machine's link to the root namespace, its agent
// listener on the underlay (agents reach it as https://<Addr>:8788).
func (d *Datacenter) StartServer(t testing.TB, cfg ProcessConfig) (*Env, *Machine) {
	t.Helper()
	m := d.Machine(t, "srv")
	root := m.LinkRoot(t)
	cfg.Netns = m.Netns
	cfg.Listen = netip.AddrPortFrom(root, 8080).String()
	cfg.AgentListener = true
	cfg.AgentListen = netip.AddrPortFrom(m.Addr, 8788).String()
	return StartProcess(t, cfg), m
}

// addNetns creates a named network namespace with lo up, registered for the
// sweep and removed when the test ends (its veths go with it).
func (d *Datacenter) addNetns(t testing.TB, name string) {
	t.Helper()
	if _, err := os.Stat(nsRunPath(name)); err == nil {
		t.Fatalf("network namespace %s exists already", name)
	}
	registerLeftovers(t, registration{Namespaces: []string{name}})
	t.Cleanup(func() {
		if err := deleteNetns(name); err != nil {
			t.Errorf("removing network namespace %s: %v", name, err)
		}
	})
	ipCmd(t, "netns", "add", name)
	ipCmd(t, "-n", name, "link", "set", "lo", "up")
}

// deleteNetns removes a named network namespace ("ip netns delete"); one
// that does not exist is no error.
func deleteNetns(name string) error {
	if _, err := os.Stat(nsRunPath(name)); err != nil {
		return nil
	}
	if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns delete %s: %v: %s", name, err, out)
	}
	return nil
}

func nsRunPath(name string) string { return filepath.Join("/var/run/netns", name) }

// ipCmd runs ip(8) and fails the test if it fails.
func ipCmd(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
