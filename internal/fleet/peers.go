package fleet

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"strait/internal/agent/backbone"
)

// encrypted reports whether a backbone method encrypts (the WireGuard ones,
// which interoperate), and known whether it is a method of the backbone at all.
func encrypted(method string) (enc, known bool) {
	switch backbone.Method(method) {
	case backbone.MethodWireGuard, backbone.MethodUserspace:
		return true, true
	case backbone.MethodPlain:
		return false, true
	}
	return false, false
}

// member says why a remote host cannot be on the backbone ("" when it can).
func member(r Remote) string {
	enc, known := encrypted(r.BackboneMethod)
	switch {
	case !known:
		return fmt.Sprintf("its backbone method is %q (an agent that does not join the backbone)", r.BackboneMethod)
	case !r.BackboneAddress.Is4():
		return fmt.Sprintf("its backbone address %q is not an IPv4 address", r.BackboneAddress)
	case enc && r.BackboneKey.IsZero():
		return "it reported no backbone public key"
	}
	return ""
}

// peers are, for each remote host, the other remote hosts it links to over
// the backbone with the keys of each pair: both must be members with the same
// kind of method (plain with plain, encrypted with encrypted); hosts that
// share an address are nobody's peers. skipped says
// why a host or pair was left out, by "host" or "hostA hostB".
func peers(remotes []Remote, pairSecret []byte) (out map[string][]backbone.Peer, skipped map[string]string, err error) {
	out, skipped = map[string][]backbone.Peer{}, map[string]string{}
	holders := map[netip.Addr][]string{}
	for _, r := range remotes {
		if why := member(r); why != "" {
			skipped[r.ID] = why
			continue
		}
		holders[r.BackboneAddress] = append(holders[r.BackboneAddress], r.ID)
	}
	for a, ids := range holders {
		if len(ids) > 1 {
			for _, id := range ids {
				skipped[id] = fmt.Sprintf("hosts %s have the same backbone address %s: give each its own with --backbone-address", strings.Join(ids, ", "), a)
			}
		}
	}
	for i, a := range remotes {
		if skipped[a.ID] != "" {
			continue
		}
		for _, b := range remotes[i+1:] {
			if skipped[b.ID] != "" {
				continue
			}
			encA, _ := encrypted(a.BackboneMethod)
			encB, _ := encrypted(b.BackboneMethod)
			if encA != encB {
				skipped[a.ID+" "+b.ID] = fmt.Sprintf("backbone methods %s and %s do not match: plain needs --backbone plain on both hosts", a.BackboneMethod, b.BackboneMethod)
				continue
			}
			psk, err := backbone.PairKey(pairSecret, a.ID, b.ID)
			if err != nil {
				return nil, nil, err
			}
			out[a.ID] = append(out[a.ID], backbone.Peer{HostID: b.ID, Underlay: b.BackboneAddress, Keys: backbone.Keys{Public: b.BackboneKey, Preshared: psk}, Transit: b.Transit})
			out[b.ID] = append(out[b.ID], backbone.Peer{HostID: a.ID, Underlay: a.BackboneAddress, Keys: backbone.Keys{Public: a.BackboneKey, Preshared: psk}, Transit: a.Transit})
		}
	}
	for id := range out {
		slices.SortFunc(out[id], func(x, y backbone.Peer) int { return strings.Compare(x.HostID, y.HostID) })
	}
	return out, skipped, nil
}

// backbonePeers computes the peers of the backbone's members (the remote
// hosts, and the in-process agent when it joins), logging once each host or
// pair left out. Without a pair secret source no host has peers. The caller
// holds f.mu.
func (f *Fleet) backbonePeers(ctx context.Context, members []Remote) (map[string][]backbone.Peer, error) {
	if f.pairSecret == nil || len(members) < 2 {
		return nil, nil
	}
	secret, err := f.pairSecret(ctx)
	if err != nil {
		return nil, fmt.Errorf("the backbone's pair secret: %w", err)
	}
	out, skipped, err := peers(members, secret)
	if err != nil {
		return nil, err
	}
	for k, why := range skipped {
		if f.skipped[k] != why {
			f.log.Warn("hosts not linked over the backbone", "hosts", k, "reason", why)
		}
	}
	f.skipped = skipped
	return out, nil
}
