package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// datacenter is figure 8's machines: a "dc" network namespace holding a bridge
// (the underlay, 198.18.0.0/24) and one network namespace per machine with a
// veth onto it, as internal/testenv's Datacenter builds them for tests (that
// one needs a testing.TB). The server's machine also gets a veth to the root
// namespace (a free /30 of 198.19.0.0/16), for the driver's API clients.
// Processes run in a machine with nsenter --net, so mounts (/var/run/netns,
// the data directories) stay shared. close removes everything it made.
type datacenter struct {
	prefix   string   // "sbh" and 6 random hex digits
	netns    string   // the datacenter namespace
	made     []string // namespaces created, in order
	rootLink string   // the root namespace's end of the root link ("" without one)
	hosts    int
}

// dcMachine is a network namespace on the datacenter's underlay.
type dcMachine struct {
	netns    string
	addr     netip.Addr // on its eth0
	rootAddr netip.Addr // on its link to the root namespace (invalid without one)
}

// Figure 8's address ranges: those of internal/testenv's datacenter, so that
// its root links and the tests' take /30s from one pool under one lock.
var (
	dcUnderlay   = netip.MustParsePrefix("198.18.0.0/24")
	dcRootLinks  = netip.MustParsePrefix("198.19.0.0/16")
	rootLinkLock = "/run/strait-tests/.rootlinks.lock"
)

// newDatacenter creates the datacenter namespace and its bridge.
func newDatacenter() (*datacenter, error) {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	dc := &datacenter{prefix: "sbh" + hex.EncodeToString(b)}
	dc.netns = dc.prefix + "-dc"
	if err := dc.addNetns(dc.netns); err != nil {
		return dc, err
	}
	return dc, ipRun([][]string{
		{"-n", dc.netns, "link", "add", "br0", "type", "bridge"},
		{"-n", dc.netns, "link", "set", "br0", "up"},
	})
}

// machine creates a machine (name: at most 4 characters) with the next
// underlay address on its eth0.
func (dc *datacenter) machine(name string) (*dcMachine, error) {
	dc.hosts++
	addr := dcUnderlay.Addr()
	for range dc.hosts {
		addr = addr.Next()
	}
	m := &dcMachine{netns: dc.prefix + "-" + name, addr: addr}
	if err := dc.addNetns(m.netns); err != nil {
		return nil, err
	}
	return m, ipRun([][]string{
		{"link", "add", "eth0", "netns", m.netns, "type", "veth", "peer", "name", name, "netns", dc.netns},
		{"-n", dc.netns, "link", "set", name, "master", "br0", "up"},
		{"-n", m.netns, "addr", "add", netip.PrefixFrom(addr, dcUnderlay.Bits()).String(), "dev", "eth0"},
		{"-n", m.netns, "link", "set", "eth0", "up"},
	})
}

// linkRoot joins m to the root namespace by a veth pair on a /30 of
// 198.19.0.0/16 that no address of the root namespace is in yet (chosen and
// taken under the lock the tests' datacenters use).
func (dc *datacenter) linkRoot(m *dcMachine) error {
	if err := os.MkdirAll(filepath.Dir(rootLinkLock), 0o700); err != nil {
		return err
	}
	lock, err := os.OpenFile(rootLinkLock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return err
	}
	block := dcRootLinks.Addr()
	for slices.ContainsFunc(addrs, func(a net.Addr) bool {
		p, err := netip.ParsePrefix(a.String())
		return err == nil && p.Masked().Addr() == block
	}) {
		for range 4 {
			block = block.Next()
		}
		if !dcRootLinks.Contains(block) {
			return fmt.Errorf("no free /30 in %s", dcRootLinks)
		}
	}
	inside, outside := block.Next(), block.Next().Next()
	dc.rootLink = strings.ReplaceAll(m.netns, "-", "")
	m.rootAddr = inside
	return ipRun([][]string{
		{"link", "add", dc.rootLink, "type", "veth", "peer", "name", "root", "netns", m.netns},
		{"addr", "add", netip.PrefixFrom(outside, 30).String(), "dev", dc.rootLink},
		{"link", "set", dc.rootLink, "up"},
		{"-n", m.netns, "addr", "add", netip.PrefixFrom(inside, 30).String(), "dev", "root"},
		{"-n", m.netns, "link", "set", "root", "up"},
	})
}

// nsenter is the command line prefix that runs a program in m.
func (m *dcMachine) nsenter() []string {
	return []string{"nsenter", "--net=/var/run/netns/" + m.netns, "--"}
}

// addNetns creates a named network namespace with lo up.
func (dc *datacenter) addNetns(name string) error {
	if _, err := os.Stat("/var/run/netns/" + name); err == nil {
		return fmt.Errorf("network namespace %s exists already", name)
	}
	if err := ipRun([][]string{{"netns", "add", name}}); err != nil {
		return err
	}
	dc.made = append(dc.made, name)
	return ipRun([][]string{{"-n", name, "link", "set", "lo", "up"}})
}

// close removes the root link and the namespaces (their veths go with them).
func (dc *datacenter) close() error {
	var errs []error
	if dc.rootLink != "" {
		if _, err := net.InterfaceByName(dc.rootLink); err == nil {
			errs = append(errs, ipRun([][]string{{"link", "delete", dc.rootLink}}))
		}
	}
	for _, name := range slices.Backward(dc.made) {
		errs = append(errs, ipRun([][]string{{"netns", "delete", name}}))
	}
	return errors.Join(errs...)
}

// ipRun runs ip(8) with each argument list in turn, stopping at the first failure.
func ipRun(cmds [][]string) error {
	for _, args := range cmds {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}
