package main

import (
	"testing"

	"strait/internal/agent/backbone"
)

// --backbone names a mode; --backbone-address must be IPv4 and defaults to
// the address the kernel picks towards the server.
func TestAgentBackboneFlags(t *testing.T) {
	auto := backbone.MethodUserspace
	if backbone.KernelWireGuard() {
		auto = backbone.MethodWireGuard
	}
	for mode, want := range map[string]backbone.Method{"auto": auto, "wireguard-go": backbone.MethodUserspace, "plain": backbone.MethodPlain} {
		if got, err := backbone.MethodFor(mode); err != nil || got != want {
			t.Errorf("--backbone %s: %q, %v; want %q", mode, got, err, want)
		}
	}
	if _, err := backbone.MethodFor("ipsec"); err == nil {
		t.Error("--backbone ipsec accepted")
	}
	if a, err := backboneAddress("", "https://127.0.0.1:8788"); err != nil || a.String() != "127.0.0.1" {
		t.Errorf("default towards 127.0.0.1: %v, %v", a, err)
	}
	if a, err := backboneAddress("192.0.2.7", "https://127.0.0.1:8788"); err != nil || a.String() != "192.0.2.7" {
		t.Errorf("--backbone-address 192.0.2.7: %v, %v", a, err)
	}
	for _, bad := range []string{"::1", "host.example"} {
		if _, err := backboneAddress(bad, "https://127.0.0.1:8788"); err == nil {
			t.Errorf("--backbone-address %s accepted", bad)
		}
	}
}
