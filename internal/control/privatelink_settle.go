package control

import "context"

// settlePrivateLink settles endpoint services and endpoints (see Settle).
func (c *Control) settlePrivateLink(ctx context.Context) error { return nil }
