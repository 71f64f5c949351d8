package backbone

import (
	"net"
	"net/netip"
	"testing"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// ModeAuto is the kernel's WireGuard exactly when the kernel has it; the
// other modes never ask.
func TestMethodFor(t *testing.T) {
	for _, tc := range []struct {
		mode   string
		kernel bool
		want   Method
	}{
		{ModeAuto, true, MethodWireGuard},
		{ModeAuto, false, MethodUserspace},
		{"", true, MethodWireGuard},
		{ModeUserspace, true, MethodUserspace},
		{ModePlain, true, MethodPlain},
	} {
		asked := false
		got, err := methodFor(tc.mode, func() bool { asked = true; return tc.kernel })
		if err != nil || got != tc.want {
			t.Errorf("mode %q, kernel WireGuard %v: %q, %v; want %q", tc.mode, tc.kernel, got, err, tc.want)
		}
		if wantAsked := tc.mode == ModeAuto || tc.mode == ""; asked != wantAsked {
			t.Errorf("mode %q asked for the kernel's WireGuard: %v", tc.mode, asked)
		}
	}
	if _, err := methodFor("ipsec", func() bool { return true }); err == nil {
		t.Error("mode ipsec accepted")
	}
}

// Only what differs is configured: a peer as wanted is left out (its session
// stays), a changed one is given whole, a missing one added, an unwanted one
// removed.
func TestPeerChanges(t *testing.T) {
	key := func(b byte) Key { return Key{b} }
	peer := func(pub, psk byte, underlay string) Peer {
		return Peer{HostID: string('a' + rune(pub)), Underlay: netip.MustParseAddr(underlay), Keys: Keys{Public: key(pub), Preshared: key(psk)}}
	}
	const port = 51820
	as := func(p Peer) wgtypes.Peer { // how a device reports a peer configured as wanted
		return wgtypes.Peer{PublicKey: wgtypes.Key(p.Keys.Public), PresharedKey: wgtypes.Key(p.Keys.Preshared),
			Endpoint:   &net.UDPAddr{IP: net.IP(p.Underlay.AsSlice()), Port: port},
			AllowedIPs: []net.IPNet{{IP: InnerAddr(p.Underlay).AsSlice(), Mask: net.CIDRMask(128, 128)}}}
	}
	same, moved, gone, added := peer(1, 11, "192.0.2.1"), peer(2, 12, "192.0.2.2"), peer(3, 13, "192.0.2.3"), peer(4, 14, "192.0.2.4")
	have := []wgtypes.Peer{as(same), as(moved), as(gone)}
	moved.Underlay = netip.MustParseAddr("192.0.2.22")
	cfg := peerChanges(have, []Peer{same, moved, added}, port)
	got := map[wgtypes.Key]wgtypes.PeerConfig{}
	for _, p := range cfg.Peers {
		got[p.PublicKey] = p
	}
	if len(got) != 3 {
		t.Fatalf("%d peers configured, want 3 (moved, gone, added): %+v", len(got), cfg.Peers)
	}
	if _, ok := got[wgtypes.Key(same.Keys.Public)]; ok {
		t.Error("a peer as wanted is configured again")
	}
	if p := got[wgtypes.Key(gone.Keys.Public)]; !p.Remove {
		t.Error("an unwanted peer is not removed")
	}
	for _, w := range []Peer{moved, added} {
		p := got[wgtypes.Key(w.Keys.Public)]
		if p.Remove || p.PresharedKey == nil || *p.PresharedKey != wgtypes.Key(w.Keys.Preshared) ||
			p.Endpoint.String() != netip.AddrPortFrom(w.Underlay, port).String() || !p.ReplaceAllowedIPs ||
			len(p.AllowedIPs) != 1 || p.AllowedIPs[0].String() != InnerAddr(w.Underlay).String()+"/128" || p.PersistentKeepaliveInterval != nil {
			t.Errorf("peer %s configured as %+v", w.HostID, p)
		}
	}
	if cfg := peerChanges([]wgtypes.Peer{as(same)}, []Peer{same}, port); len(cfg.Peers) != 0 {
		t.Errorf("nothing to change, but %+v", cfg.Peers)
	}
}
