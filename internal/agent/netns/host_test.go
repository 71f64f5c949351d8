package netns_test

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"strait/internal/agent/netns"
	"strait/internal/agent/netns/netnstest"
	"strait/internal/testenv"
)

func TestTagFor(t *testing.T) {
	tag := netns.TagFor("/var/lib/strait")
	if !regexp.MustCompile(`^[0-9a-f]{6}$`).MatchString(tag) {
		t.Fatalf("TagFor = %q, want 6 hex digits", tag)
	}
	if tag == netns.TagFor("/var/lib/strait2") {
		t.Fatal("different directories got the same tag")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if netns.TagFor("data") != netns.TagFor(filepath.Join(wd, "data")) {
		t.Fatal("a relative directory got another tag than its absolute path")
	}
}

func TestNewHostRejectsBadTag(t *testing.T) {
	for _, tag := range []string{"", "ab-cd", "AB", "a/b"} {
		if _, err := netns.NewHost(tag, nil); err == nil {
			t.Errorf("NewHost(%q) succeeded", tag)
		}
	}
}

func TestNamespaceNames(t *testing.T) {
	h := netnstest.NewHost(t)
	if got, want := h.Namespace("vpc-0123456789abcdef0"), "strait-"+h.Tag()+"-vpc-0123456789abcdef0"; got != want {
		t.Fatalf("Namespace = %q, want %q", got, want)
	}
}

// Two VPCs with the same CIDR and the same addresses coexist: each instance reaches
// the ENI address of its own VPC.
func TestSameCIDRVPCsCoexist(t *testing.T) {
	h := netnstest.NewHost(t)
	var insts []netns.Instance
	for _, token := range []string{"A", "B"} {
		v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24")
		netnstest.EnsureVPC(t, h, v)
		insts = append(insts, netnstest.Instance(t, h, v, 0, "10.0.1.10"))
		eni := netns.ENI{ID: netnstest.RandomID("eni"), SubnetID: v.Subnets[0].ID, IP: netip.MustParseAddr("10.0.1.50")}
		if err := h.SetAddresses(v.ID, []netns.ENI{eni}, v); err != nil {
			t.Fatal(err)
		}
		netnstest.Listen(t, h, v.ID, "10.0.1.50:8080", token)
	}
	for n, token := range []string{"A", "B"} {
		netnstest.MustAsk(t, h, insts[n].ID, "", "10.0.1.50:8080", token+" 10.0.1.10:*")
	}
}

// Instances in different subnets reach each other through the VPC router.
func TestInstancesRouteThroughVPC(t *testing.T) {
	h := netnstest.NewHost(t)
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24")
	netnstest.EnsureVPC(t, h, v)
	a := netnstest.Instance(t, h, v, 0, "10.0.1.10")
	b := netnstest.Instance(t, h, v, 1, "10.0.2.20")
	netnstest.Listen(t, h, b.ID, "10.0.2.20:7000", "b")
	netnstest.Listen(t, h, a.ID, "10.0.1.10:7000", "a")
	netnstest.MustAsk(t, h, a.ID, "", "10.0.2.20:7000", "b 10.0.1.10:*")
	netnstest.MustAsk(t, h, b.ID, "", "10.0.1.10:7000", "a 10.0.2.20:*")
	if err := netnstest.Ping(h, a.ID, b.IP, 2*time.Second); err != nil {
		t.Fatalf("ping %s → %s: %v", a.IP, b.IP, err)
	}
	if err := netnstest.Ping(h, b.ID, netip.MustParseAddr("10.0.2.1"), 2*time.Second); err != nil {
		t.Fatalf("ping the gateway: %v", err)
	}
	// A real program in the instance, through Exec.
	var out strings.Builder
	code, err := netns.Exec(a.ID, []string{"bash", "-c", "exec 3<>/dev/tcp/10.0.2.20/7000 && cat <&3"}, nil, &out, os.Stderr)
	if err != nil || code != 0 {
		t.Fatalf("Exec: code %d, %v", code, err)
	}
	if !strings.HasPrefix(out.String(), "b 10.0.1.10:") {
		t.Fatalf("Exec output %q", out.String())
	}
}

// An instance reaches a listener on an ENI address in the VPC namespace with its own
// source address, and the VPC namespace dials an instance from an ENI address.
func TestENIListenAndDial(t *testing.T) {
	h := netnstest.NewHost(t)
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24")
	netnstest.EnsureVPC(t, h, v)
	a := netnstest.Instance(t, h, v, 0, "10.0.1.10")
	enis := []netns.ENI{
		{ID: netnstest.RandomID("eni"), SubnetID: v.Subnets[0].ID, IP: netip.MustParseAddr("10.0.1.50")},
		{ID: netnstest.RandomID("eni"), SubnetID: v.Subnets[1].ID, IP: netip.MustParseAddr("10.0.2.50")},
	}
	if err := h.SetAddresses(v.ID, enis, v); err != nil {
		t.Fatal(err)
	}
	netnstest.Listen(t, h, v.ID, "10.0.1.50:443", "same-subnet")
	netnstest.Listen(t, h, v.ID, "10.0.2.50:443", "other-subnet")
	netnstest.MustAsk(t, h, a.ID, "", "10.0.1.50:443", "same-subnet 10.0.1.10:*")
	netnstest.MustAsk(t, h, a.ID, "", "10.0.2.50:443", "other-subnet 10.0.1.10:*")

	netnstest.Listen(t, h, a.ID, "10.0.1.10:5432", "db")
	netnstest.MustAsk(t, h, v.ID, "10.0.2.50", "10.0.1.10:5432", "db 10.0.2.50:*")
	netnstest.MustAsk(t, h, v.ID, "10.0.1.50", "10.0.1.10:5432", "db 10.0.1.50:*")

	// The resolver address answers UDP in the VPC namespace.
	uc, err := h.ListenUDP(v.ID, netip.MustParseAddrPort("10.0.0.2:53"))
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := uc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			uc.WriteToUDPAddrPort(append([]byte("re:"), buf[:n]...), from)
		}
	}()
	if got := udpAsk(t, h, a.ID, "10.0.0.2:53", "q"); got != "re:q" {
		t.Fatalf("resolver answered %q", got)
	}
}

// udpAsk sends msg from the namespace of id to addr and returns the reply.
func udpAsk(t *testing.T, h *netns.Host, id, addr, msg string) string {
	t.Helper()
	var c *net.UDPConn
	err := h.Do(id, func() (err error) {
		c, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("UDP %s: %v", addr, err)
	}
	return string(buf[:n])
}

// SetAddresses keeps exactly the given ENI addresses, and never the gateway or
// resolver's.
func TestSetAddresses(t *testing.T) {
	h := netnstest.NewHost(t)
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24")
	netnstest.EnsureVPC(t, h, v)
	var enis []netns.ENI
	for n := range 100 {
		s := n % 2
		enis = append(enis, netns.ENI{ID: netnstest.RandomID("eni"), SubnetID: v.Subnets[s].ID, IP: netip.MustParseAddr(fmt.Sprintf("10.0.%d.%d", s+1, 10+n/2))})
	}
	start := time.Now()
	if err := h.SetAddresses(v.ID, enis, v); err != nil {
		t.Fatal(err)
	}
	t.Logf("SetAddresses with 100 new addresses: %v", time.Since(start))
	start = time.Now()
	if err := h.SetAddresses(v.ID, enis, v); err != nil {
		t.Fatal(err)
	}
	t.Logf("SetAddresses with 100 unchanged addresses: %v", time.Since(start))
	checkAddrs(t, h, v, enis)

	// Keep every other one and add a new one.
	kept := []netns.ENI{{ID: netnstest.RandomID("eni"), SubnetID: v.Subnets[1].ID, IP: netip.MustParseAddr("10.0.2.200")}}
	for n := 0; n < len(enis); n += 2 {
		kept = append(kept, enis[n])
	}
	if err := h.SetAddresses(v.ID, kept, v); err != nil {
		t.Fatal(err)
	}
	checkAddrs(t, h, v, kept)
	if err := h.SetAddresses(v.ID, nil, v); err != nil {
		t.Fatal(err)
	}
	checkAddrs(t, h, v, nil)

	bad := netns.ENI{ID: netnstest.RandomID("eni"), SubnetID: v.Subnets[0].ID, IP: netip.MustParseAddr("10.0.2.5")}
	if err := h.SetAddresses(v.ID, []netns.ENI{bad}, v); err == nil {
		t.Fatal("SetAddresses accepted an address outside the ENI's subnet")
	}
}

// checkAddrs checks the IPv4 addresses of the VPC namespace: the resolver on lo,
// each subnet's gateway and exactly the ENIs' addresses on its bridge.
func checkAddrs(t *testing.T, h *netns.Host, v netns.VPC, enis []netns.ENI) {
	t.Helper()
	got := map[string]bool{}
	for _, line := range strings.Split(netnstest.Run(t, "ip", "-n", h.Namespace(v.ID), "-o", "-4", "addr", "show"), "\n") {
		f := strings.Fields(line)
		got[f[1]+" "+f[3]] = true
	}
	want := map[string]bool{"lo 127.0.0.1/8": true, "lo 10.0.0.2/32": true}
	bridges := map[string]string{}
	for _, s := range v.Subnets {
		br := "b" + s.ID[len(s.ID)-12:]
		bridges[s.ID] = br
		want[fmt.Sprintf("%s %s/%d", br, netns.Gateway(s.CIDR), s.CIDR.Bits())] = true
	}
	for _, e := range enis {
		want[bridges[e.SubnetID]+" "+e.IP.String()+"/32"] = true
	}
	for k := range want {
		if !got[k] {
			t.Errorf("missing address %s", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("unexpected address %s", k)
		}
	}
}

// EnsureVPC removes the bridges of subnets no longer listed and keeps the others.
func TestEnsureVPCRemovesSubnets(t *testing.T) {
	h := netnstest.NewHost(t)
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24")
	netnstest.EnsureVPC(t, h, v)
	a := netnstest.Instance(t, h, v, 0, "10.0.1.10")
	netnstest.Listen(t, h, a.ID, "10.0.1.10:7000", "a")
	v.Subnets = v.Subnets[:1]
	netnstest.EnsureVPC(t, h, v)
	links := netnstest.Run(t, "ip", "-n", h.Namespace(v.ID), "-o", "link", "show", "type", "bridge")
	if n := strings.Count(links, "\n") + 1; n != 1 || !strings.Contains(links, "b"+v.Subnets[0].ID[len(v.Subnets[0].ID)-12:]) {
		t.Fatalf("bridges after removing a subnet:\n%s", links)
	}
	netnstest.MustAsk(t, h, v.ID, "10.0.1.1", "10.0.1.10:7000", "a 10.0.1.1:*")
}

// EnsureInstance is idempotent and a new Host with the same tag re-adopts the
// namespaces without disturbing the programs running in them.
func TestEnsureInstanceReadopts(t *testing.T) {
	h := netnstest.NewHost(t)
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24")
	start := time.Now()
	netnstest.EnsureVPC(t, h, v)
	t.Logf("EnsureVPC (new, 2 subnets): %v", time.Since(start))
	start = time.Now()
	a := netnstest.Instance(t, h, v, 0, "10.0.1.10")
	t.Logf("EnsureInstance (new): %v", time.Since(start))
	b := netnstest.Instance(t, h, v, 1, "10.0.2.20")
	netnstest.Listen(t, h, b.ID, "10.0.2.20:7000", "b")

	// A program in instance a.
	exited := netnstest.StartIn(t, h.Namespace(a.ID), "sleep", "300")
	ifindex := eth0Index(t, h, a.ID)

	start = time.Now()
	if created, err := h.EnsureVPC(v); err != nil || created {
		t.Fatalf("EnsureVPC of an existing VPC: created %v, %v", created, err)
	}
	if created, err := h.EnsureInstance(a, v); err != nil || created {
		t.Fatalf("EnsureInstance of an existing instance: created %v, %v", created, err)
	}
	t.Logf("EnsureVPC + EnsureInstance (unchanged): %v", time.Since(start))

	h2, err := netns.NewHost(h.Tag(), nil)
	if err != nil {
		t.Fatal(err)
	}
	vpcs, insts, err := h2.Managed()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(vpcs) != fmt.Sprint([]string{v.ID}) || len(insts) != 2 || !slices.Contains(insts, a.ID) || !slices.Contains(insts, b.ID) {
		t.Fatalf("Managed = %v, %v", vpcs, insts)
	}
	if _, err := h2.EnsureVPC(v); err != nil {
		t.Fatal(err)
	}
	for _, i := range []netns.Instance{a, b} {
		if _, err := h2.EnsureInstance(i, v); err != nil {
			t.Fatal(err)
		}
	}
	if got := eth0Index(t, h2, a.ID); got != ifindex {
		t.Fatalf("eth0 of %s was recreated (index %d, was %d)", a.ID, got, ifindex)
	}
	select {
	case err := <-exited:
		t.Fatalf("the program in %s ended: %v", a.ID, err)
	default:
	}
	netnstest.MustAsk(t, h2, a.ID, "", "10.0.2.20:7000", "b 10.0.1.10:*")

	// Removing the instance ends its program (SIGTERM) and its namespace.
	start = time.Now()
	if err := h2.RemoveInstance(a.ID); err != nil {
		t.Fatal(err)
	}
	t.Logf("RemoveInstance with a running program: %v", time.Since(start))
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatalf("the program in %s survived RemoveInstance", a.ID)
	}
	if _, err := os.Stat("/run/netns/" + h.Namespace(a.ID)); !os.IsNotExist(err) {
		t.Fatalf("namespace of %s still there: %v", a.ID, err)
	}
	if _, err := os.Stat("/etc/netns/" + h.Namespace(a.ID)); !os.IsNotExist(err) {
		t.Fatalf("/etc/netns of %s still there: %v", a.ID, err)
	}
	if out := netnstest.Run(t, "ip", "-n", h.Namespace(v.ID), "-o", "link", "show", "type", "veth"); strings.Count(out, "\n") != 0 || out == "" {
		t.Fatalf("VPC links after removing one of two instances:\n%s", out)
	}
	// Re-creating it works, and removing the VPC leaves b unwired until EnsureInstance.
	a = netnstest.Instance(t, h2, v, 0, "10.0.1.10")
	if err := h2.RemoveInstance(a.ID); err != nil {
		t.Fatal(err)
	}
	if err := h2.RemoveInstance(a.ID); err != nil {
		t.Fatalf("removing a removed instance: %v", err)
	}
	if err := h2.RemoveVPC(v.ID); err != nil {
		t.Fatal(err)
	}
	if created, err := h2.EnsureVPC(v); err != nil || !created {
		t.Fatalf("EnsureVPC of a removed VPC: created %v, %v", created, err)
	}
	if created, err := h2.EnsureInstance(b, v); err != nil || created {
		t.Fatalf("EnsureInstance rewiring an existing instance: created %v, %v", created, err)
	}
	netnstest.MustAsk(t, h2, v.ID, "10.0.2.1", "10.0.2.20:7000", "b 10.0.2.1:*")
}

// eth0Index is the interface index of eth0 in an instance.
func eth0Index(t *testing.T, h *netns.Host, id string) int {
	t.Helper()
	var idx int
	err := h.Do(id, func() error {
		ifc, err := net.InterfaceByName("eth0")
		if err == nil {
			idx = ifc.Index
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// The instance's resolv.conf names the VPC resolver and the zone's search domain.
func TestInstanceFiles(t *testing.T) {
	h := netnstest.NewHost(t)
	v := netnstest.VPC("172.31.0.0/16", "172.31.16.0/20")
	netnstest.EnsureVPC(t, h, v)
	a := netnstest.Instance(t, h, v, 0, "172.31.16.5")
	var out strings.Builder
	code, err := netns.Exec(a.ID, []string{"cat", "/etc/resolv.conf", "/etc/hosts"}, nil, &out, os.Stderr)
	if err != nil || code != 0 {
		t.Fatalf("Exec: %d, %v", code, err)
	}
	if !strings.Contains(out.String(), "nameserver 172.31.0.2\nsearch ec2.internal\n") || !strings.Contains(out.String(), "localhost") {
		t.Fatalf("resolv.conf and hosts in the instance:\n%s", out.String())
	}
	routes := netnstest.Run(t, "ip", "-n", h.Namespace(a.ID), "-4", "route", "show", "default")
	if !strings.Contains(routes, "via 172.31.16.1 dev eth0") {
		t.Fatalf("default route: %s", routes)
	}

	w := netnstest.VPC("10.1.0.0/16", "10.1.0.0/28")
	w.Subnets[0].AZ = "eu-west-1b"
	netnstest.EnsureVPC(t, h, w)
	b := netnstest.Instance(t, h, w, 0, "10.1.0.4")
	resolv, err := os.ReadFile("/etc/netns/" + h.Namespace(b.ID) + "/resolv.conf")
	if err != nil || string(resolv) != "nameserver 10.1.0.2\nsearch eu-west-1.compute.internal\n" {
		t.Fatalf("resolv.conf in eu-west-1: %q, %v", resolv, err)
	}
	// The resolver is reachable from the subnet that contains its address.
	netnstest.Listen(t, h, w.ID, "10.1.0.2:53", "resolver")
	netnstest.MustAsk(t, h, b.ID, "", "10.1.0.2:53", "resolver 10.1.0.4:*")
	if _, err := h.EnsureInstance(netns.Instance{ID: b.ID, VpcID: v.ID, SubnetID: w.Subnets[0].ID, IP: b.IP}, w); err == nil {
		t.Fatal("EnsureInstance accepted an instance of another VPC")
	}
}

// Without CAP_NET_ADMIN and CAP_SYS_ADMIN, NewHost says what is missing and how to
// run without the data plane. The test runs itself again with those capabilities
// dropped (setpriv).
func TestNewHostNeedsPrivileges(t *testing.T) {
	if os.Getenv("STRAIT_AGENT_NEWHOST_CHILD") == "1" {
		_, err := netns.NewHost("abc123", nil)
		fmt.Printf("NewHost error: %v\n", err)
		return
	}
	testenv.RequireRoot(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		testenv.SkipUnlessE2E(t, "setpriv (util-linux) is not installed")
	}
	cmd := exec.Command(setpriv, "--bounding-set", "-net_admin,-sys_admin", os.Args[0], "-test.run=^TestNewHostNeedsPrivileges$", "-test.count=1")
	cmd.Env = append(os.Environ(), "STRAIT_AGENT_NEWHOST_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := "NewHost error: " + netns.ErrNeedRoot.Error() + " (missing CAP_NET_ADMIN and CAP_SYS_ADMIN)"
	if !strings.Contains(string(out), want) {
		t.Fatalf("got:\n%s\nwant a line %q", out, want)
	}
}
