package hosts

import (
	"encoding/json"
	"net/netip"

	"strait/internal/model"
	"strait/internal/store"
)

// Each host has a transit address of its own (model.Host.TransitIP) from
// model.TransitFixed: model.TransitLocalHost is the server's in-process data
// plane's, the registry hands out the others, the lowest free first. A
// removed host's address is free for the next host at once: nothing of a
// removed host's flows is left on the other hosts that could meet it (they
// were its own connections through its own transit namespace).

// txHostTransit returns, inside tx, the transit address host self keeps
// (have, when it is one) or the lowest one no other host holds.
func txHostTransit(tx *store.Tx, self, have string) (string, error) {
	taken := map[netip.Addr]bool{model.TransitLocalHost: true}
	err := tx.List(model.KindHost+"/", func(_ string, val []byte) error {
		var other model.Host
		if err := json.Unmarshal(val, &other); err != nil {
			return err
		}
		if a, err := netip.ParseAddr(other.TransitIP); err == nil && other.ID != self {
			taken[a] = true
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if a, err := netip.ParseAddr(have); err == nil && model.IsHostTransit(a) && !taken[a] {
		return have, nil
	}
	for a := model.TransitFixed.Addr(); model.TransitFixed.Contains(a); a = a.Next() {
		if model.IsHostTransit(a) && !taken[a] {
			return a.String(), nil
		}
	}
	return "", model.WithReason(model.ErrLimit, "", "No host transit address is free: the region has as many hosts as %s has room for", model.TransitFixed)
}
