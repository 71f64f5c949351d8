package published

import (
	"context"
	"strings"
)

// directHost is the host a client inside the service's VPC connects to for a
// component's target: an instance's private IP address (an instance ID is no
// host), the target itself otherwise. An instance that is gone stays an ID.
func (c *Published) directHost(ctx context.Context, acct, target string) string {
	if !strings.HasPrefix(target, "i-") {
		return target
	}
	inst, err := c.net.Instance(ctx, acct, target)
	if err != nil || inst.PrivateIP == "" {
		return target
	}
	return inst.PrivateIP
}
