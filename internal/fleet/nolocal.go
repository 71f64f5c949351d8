package fleet

import (
	"context"

	"strait/internal/agent"
	"strait/internal/dataplane"
)

// NoLocal is the Local of a server without a data plane of its own
// (--dataplane none with an agent listener): the hosts that join serve their
// zones, and what falls to the server's part (the zones no host serves) is
// realized nowhere, so it never becomes ready.
type NoLocal struct{}

// Apply realizes nothing.
func (NoLocal) Apply(context.Context, agent.State) error { return nil }

// Ready is false: nothing of the server's part is realized.
func (NoLocal) Ready(string) bool { return false }

// Removed is true: the server has nothing left of anything.
func (NoLocal) Removed(string) bool { return true }

// Traffic is none.
func (NoLocal) Traffic() map[string]dataplane.Stats { return nil }
