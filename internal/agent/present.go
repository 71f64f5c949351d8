package agent

import (
	"maps"
	"slices"
)

// Present lists, sorted, the IDs the host has something of: what Removed is
// false for (what a remote host reports to the server).
func (a *Agent) Present() []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return slices.Sorted(maps.Keys(a.known))
}
