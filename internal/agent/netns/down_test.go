package netns_test

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"strait/internal/agent/netns"
	"strait/internal/agent/netns/netnstest"
)

// Down removes every namespace of its tag, instances first, with their programs
// and /etc/netns directories, and leaves other tags alone.
func TestDown(t *testing.T) {
	h := netnstest.NewHost(t)
	other := netnstest.NewHost(t)
	var want []string
	for range 2 {
		v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24")
		netnstest.EnsureVPC(t, h, v)
		a := netnstest.Instance(t, h, v, 0, "10.0.1.10")
		b := netnstest.Instance(t, h, v, 1, "10.0.2.10")
		want = append(want, h.Namespace(a.ID), h.Namespace(b.ID), h.Namespace(v.ID))
	}
	ov := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24")
	netnstest.EnsureVPC(t, other, ov)
	oi := netnstest.Instance(t, other, ov, 0, "10.0.1.10")
	netnstest.Listen(t, h, strings.TrimPrefix(want[0], "strait-"+h.Tag()+"-"), "10.0.1.10:80", "x")

	exited := netnstest.StartIn(t, want[0], "sh", "-c", "trap '' TERM; sleep 300")
	time.Sleep(100 * time.Millisecond) // let sh set its trap

	start := time.Now()
	removed, err := netns.Down(h.Tag())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Down of 6 namespaces, one program ignoring SIGTERM: %v", time.Since(start))
	if !slices.Equal(slices.Sorted(slices.Values(removed)), slices.Sorted(slices.Values(want))) {
		t.Fatalf("Down removed %v, want %v", removed, want)
	}
	for i, name := range removed {
		if i < 4 != strings.Contains(name, "-i-") {
			t.Fatalf("Down removed %v: instances not first", removed)
		}
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("a program survived Down")
	}
	list, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(list), "strait-"+h.Tag()) {
		t.Fatalf("ip netns list after Down:\n%s", list)
	}
	if !strings.Contains(string(list), other.Namespace(oi.ID)) || !strings.Contains(string(list), other.Namespace(ov.ID)) {
		t.Fatalf("Down removed another tag's namespaces:\n%s", list)
	}
	for _, name := range want {
		if _, err := os.Stat("/etc/netns/" + name); !os.IsNotExist(err) {
			t.Errorf("/etc/netns/%s: %v", name, err)
		}
	}
	if removed, err := netns.Down(h.Tag()); err != nil || len(removed) != 0 {
		t.Fatalf("second Down: %v, %v", removed, err)
	}
}
