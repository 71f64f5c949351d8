// Package status writes back into the store what the data plane realized: it
// settles states (load balancers active, endpoints available or gone, instances
// running or terminated, drained targets removed), records per-endpoint traffic
// and observed target health, delivers connection notifications, and verifies
// private DNS names against a resolver. The reconciler owns it; the API
// operations never call it.
package status

import "strait/internal/control"

// Status records realized state through the operations' store.
type Status struct {
	*control.Control
}

// New returns the status writer over ctl.
func New(ctl *control.Control) *Status { return &Status{Control: ctl} }
