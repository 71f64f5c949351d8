package network

import (
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/control/core"
)

const testAcct = "111111111111"

// newTestNetwork opens an embedded store in a temporary directory and returns the
// network operations over it.
func newTestNetwork(t *testing.T) *Network {
	t.Helper()
	return New(core.New(controltest.OpenStore(t), core.Config{}))
}
