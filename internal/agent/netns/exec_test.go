package netns_test

import (
	"os/exec"
	"strings"
	"testing"

	"strait/internal/agent/netns"
	"strait/internal/agent/netns/netnstest"
)

// Exec passes stdin, stdout, stderr and the exit code through.
func TestExec(t *testing.T) {
	h := netnstest.NewHost(t)
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24")
	netnstest.EnsureVPC(t, h, v)
	a := netnstest.Instance(t, h, v, 0, "10.0.1.10")
	var stdout, stderr strings.Builder
	code, err := netns.Exec(a.ID, []string{"sh", "-c", "tr a-z A-Z; echo oops >&2; ip -4 -o addr show dev eth0; exit 3"},
		strings.NewReader("hello\n"), &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	if out := stdout.String(); !strings.HasPrefix(out, "HELLO\n") || !strings.Contains(out, "inet 10.0.1.10/24") {
		t.Errorf("stdout %q", out)
	}
	if stderr.String() != "oops\n" {
		t.Errorf("stderr %q", stderr.String())
	}
	code, err = netns.Exec(a.ID, []string{"sh", "-c", "kill -TERM $$"}, nil, nil, nil)
	if err != nil || code != 128+15 {
		t.Errorf("killed by SIGTERM: code %d, %v", code, err)
	}
	code, err = netns.Exec(a.ID, []string{"true"}, nil, nil, nil)
	if err != nil || code != 0 {
		t.Errorf("true: code %d, %v", code, err)
	}

	_, err = netns.Exec("i-0123456789abcdef0", []string{"true"}, nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "instance i-0123456789abcdef0 has no namespace on this host") {
		t.Errorf("Exec of an unknown instance: %v", err)
	}
	if _, err := netns.Exec(v.ID, []string{"true"}, nil, nil, nil); err == nil {
		t.Error("Exec accepted a VPC ID")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal(err)
	}
}
