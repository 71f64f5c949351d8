package hostagent_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"strait/internal/agent"
	"strait/internal/agent/backbone"
	"strait/internal/agent/firewall"
	"strait/internal/agent/netns"
	"strait/internal/agent/netns/netnstest"
	"strait/internal/dataplane"
	"strait/internal/fleet"
	"strait/internal/hostagent"
	"strait/internal/placement"
	"strait/internal/testenv"
)

// underlay is a datacenter network for a test: a bridge in its own namespace
// and one namespace per host with an "eth0" on it holding the host's address,
// removed (and checked gone) when the test ends.
func underlay(t *testing.T, addrs ...netip.Addr) []string {
	t.Helper()
	b := make([]byte, 3)
	rand.Read(b)
	p := "hat" + hex.EncodeToString(b) + "-"
	dc := p + "dc"
	hosts := []string{}
	t.Cleanup(func() {
		for _, ns := range append([]string{dc}, hosts...) {
			exec.Command("ip", "netns", "del", ns).Run()
		}
		if out, _ := exec.Command("ip", "netns", "list").CombinedOutput(); strings.Contains(string(out), p) {
			t.Errorf("namespaces left:\n%s", out)
		}
	})
	run := func(args ...string) { netnstest.Run(t, "ip", args...) }
	run("netns", "add", dc)
	run("-n", dc, "link", "add", "br0", "type", "bridge")
	run("-n", dc, "link", "set", "br0", "up")
	for i, a := range addrs {
		h, port := fmt.Sprintf("%sh%d", p, i+1), fmt.Sprintf("p%d", i+1)
		hosts = append(hosts, h)
		run("netns", "add", h)
		run("-n", h, "link", "set", "lo", "up")
		run("-n", h, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", dc)
		run("-n", h, "addr", "add", a.String()+"/24", "dev", "eth0")
		run("-n", h, "link", "set", "eth0", "up")
		run("-n", dc, "link", "set", port, "master", "br0", "up")
	}
	return hosts
}

// noLocal is the server's in-process agent of a region whose zones are all
// served by hosts: it gets nothing.
type noLocal struct{}

func (noLocal) Apply(context.Context, agent.State) error { return nil }
func (noLocal) Ready(string) bool                        { return false }
func (noLocal) Removed(string) bool                      { return true }
func (noLocal) Traffic() map[string]dataplane.Stats      { return nil }

// Two hosts (namespaces on a bridge) each run a host's data plane with a
// WireGuard backbone, their parts split and given peers by a fleet as the
// server does: an instance in the VPC's subnet of zone a on host 1 opens a TCP
// connection to an instance of the same VPC in zone b on host 2, and back.
// Without the peers (a part as before this change) the connection does not get
// through.
func TestInstancesOfAVPCReachEachOtherAcrossHosts(t *testing.T) {
	testenv.RequireRoot(t)
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")}
	hostNS := underlay(t, addrs...)
	ids := []string{"host-1", "host-2"}
	zones := []string{"us-east-1a", "us-east-1b"}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))

	var remotes []fleet.Remote
	dps := make([]*agent.Agent, 2)
	nss := make([]*netns.Host, 2)
	for i := range ids {
		nss[i] = netnstest.NewHost(t) // a random tag, its namespaces removed when the test ends
		key, err := backbone.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		pub, err := key.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		dps[i], err = hostagent.NewDataplane(context.Background(), hostagent.DataplaneConfig{Tag: nss[i].Tag(), Logger: log.With("host", ids[i]),
			Backbone: &backbone.Config{HostID: ids[i], Namespace: hostNS[i], Underlay: addrs[i], Mode: backbone.ModeAuto, PrivateKey: key}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(dps[i].Close)
		remotes = append(remotes, fleet.Remote{ID: ids[i], Zones: []string{zones[i]}, Reachable: true,
			BackboneAddress: addrs[i], BackboneMethod: string(backbone.MethodUserspace), BackboneKey: pub})
	}

	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24")
	open := firewall.Rules{
		Ingress: []firewall.Rule{{Protocol: "tcp", FromPort: 8080, ToPort: 8081, Prefixes: []netip.Prefix{v.CIDR}}},
		Egress:  []firewall.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}},
	}
	inst := []agent.Instance{
		{Instance: netns.Instance{ID: netnstest.RandomID("i"), VpcID: v.ID, SubnetID: v.Subnets[0].ID, IP: netip.MustParseAddr("10.0.1.10")}, Firewall: open},
		{Instance: netns.Instance{ID: netnstest.RandomID("i"), VpcID: v.ID, SubnetID: v.Subnets[1].ID, IP: netip.MustParseAddr("10.0.2.20")}, Firewall: open},
	}
	st := agent.State{VPCs: []agent.VPC{{VPC: v}}, Instances: inst}
	fl := fleet.New(fleet.Config{Local: noLocal{}, Hosts: func(context.Context) ([]fleet.Remote, error) { return remotes, nil },
		PairSecret: func(context.Context) ([]byte, error) { return []byte("a test's pair secret, 32 bytes.."), nil }})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := fl.Apply(ctx, st); err != nil {
		t.Fatal(err)
	}
	parts := make([]placement.Update, 2)
	for i := range ids {
		parts[i] = <-fl.Watch(ctx, ids[i], 0)
		if len(parts[i].State.Peers) != 1 || len(parts[i].State.VPCs) != 1 || len(parts[i].State.VPCs[0].Remote) != 1 {
			t.Fatalf("%s's part: %d peers, VPCs %+v; want the other host as peer and the other subnet remote", ids[i], len(parts[i].State.Peers), parts[i].State.VPCs)
		}
	}

	// Without peers the remote subnet is not routed: nothing gets through.
	for i := range ids {
		noPeers := parts[i].State
		noPeers.Peers = nil
		if err := dps[i].Apply(ctx, noPeers); err != nil {
			t.Fatalf("%s without peers: %v", ids[i], err)
		}
		netnstest.Listen(t, nss[i], inst[i].ID, netip.AddrPortFrom(inst[i].IP, 8080).String(), ids[i])
	}
	if _, err := netnstest.Ask(nss[0], inst[0].ID, "", "10.0.2.20:8080", time.Second); err == nil {
		t.Fatal("host 1's instance reached host 2's without the backbone")
	}

	for i := range ids {
		if err := dps[i].Apply(ctx, parts[i].State); err != nil {
			t.Fatalf("%s: %v", ids[i], err)
		}
		if !dps[i].Ready(v.ID) || !dps[i].Ready(inst[i].ID) {
			t.Fatalf("%s: VPC ready %v, instance ready %v", ids[i], dps[i].Ready(v.ID), dps[i].Ready(inst[i].ID))
		}
	}
	// WireGuard's first handshake may take a moment: ask until it answers.
	ask := func(from int, to string, want string) {
		t.Helper()
		var err error
		var got string
		for try := 0; try < 30; try++ {
			if got, err = netnstest.Ask(nss[from], inst[from].ID, "", to, 2*time.Second); err == nil {
				break
			}
		}
		if err != nil || !strings.HasPrefix(got, want) {
			t.Fatalf("from %s to %s: %q, %v; want %s's answer", inst[from].ID, to, got, err, want)
		}
	}
	ask(0, "10.0.2.20:8080", "host-2 10.0.1.10:")
	ask(1, "10.0.1.10:8080", "host-1 10.0.2.20:")

	// Full-size segments too: the backbone's smaller MTU is learnt (path MTU
	// discovery through the VPC router), not a black hole.
	ln, err := nss[1].Listen(inst[1].ID, netip.MustParseAddrPort("10.0.2.20:8081"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const size = 4 << 20
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		n, _ := io.Copy(io.Discard, c)
		fmt.Fprintf(c, "%d", n)
		got <- n
	}()
	c, err := nss[0].Dial(ctx, inst[0].ID, netip.Addr{}, netip.MustParseAddrPort("10.0.2.20:8081"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := c.Write(make([]byte, size)); err != nil {
		t.Fatalf("sending %d bytes across the backbone: %v", size, err)
	}
	c.CloseWrite()
	if n := <-got; n != size {
		t.Fatalf("host 2's instance received %d bytes, want %d", n, size)
	}
}
