package server

import (
	"log/slog"
	"testing"

	"strait/internal/agent/backbone"
)

// The server's data plane joins the backbone on --backbone-address, else on
// the agent listener's one IPv4 address; not with no listener, a listener on
// every address or on loopback; bad flags are refused.
func TestLocalBackbone(t *testing.T) {
	for _, tc := range []struct {
		listen, addr, mode string
		want               string // the address it joins on; "" none; "error"
	}{
		{"", "", "", ""},
		{"", "198.18.0.1", "", "error"},
		{":8788", "", "", ""},
		{"127.0.0.1:8788", "", "", ""},
		{"[::1]:8788", "", "", ""},
		{"198.18.0.1:8788", "", "", "198.18.0.1"},
		{"198.18.0.1:8788", "198.18.0.9", "plain", "198.18.0.9"},
		{":8788", "198.18.0.9", "", "198.18.0.9"},
		{":8788", "::1", "", "error"},
		{":8788", "127.0.0.1", "", "error"},
		{"198.18.0.1:8788", "", "ipsec", "error"},
	} {
		cfg := Config{AgentListen: tc.listen, BackboneAddress: tc.addr, Backbone: tc.mode, DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)}
		bb, member, err := localBackbone(cfg)
		got := ""
		switch {
		case err != nil:
			got = "error"
		case bb != nil:
			got = bb.Underlay.String()
			if member == nil || member.BackboneAddress != bb.Underlay || member.BackboneKey.IsZero() {
				t.Errorf("%+v: member %+v", tc, member)
			}
			wantMethod, _ := backbone.MethodFor(backbone.ModeAuto) // the kernel's WireGuard where it has it
			if tc.mode == backbone.ModePlain {
				wantMethod = backbone.MethodPlain
			}
			if member.BackboneMethod != string(wantMethod) {
				t.Errorf("%+v: method %s, want %s", tc, member.BackboneMethod, wantMethod)
			}
		case member != nil:
			t.Errorf("%+v: a member without a backbone", tc)
		}
		if got != tc.want {
			t.Errorf("listen %q, --backbone-address %q, --backbone %q: joins on %q (%v), want %q", tc.listen, tc.addr, tc.mode, got, err, tc.want)
		}
	}
}
