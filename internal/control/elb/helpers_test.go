package elb

import (
	"testing"
	"time"

	"strait/internal/control/controltest"
	"strait/internal/control/core"
	"strait/internal/control/network"
	"strait/internal/control/network/nettest"
	"strait/internal/model"
)

const testAcct = "111111111111"

// testNow is the time of the tests' clock.
var testNow = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// newTestELB opens an embedded store in a temporary directory and returns the
// load balancer operations over it, with the clock fixed at testNow.
func newTestELB(t *testing.T) *ELB {
	t.Helper()
	b := core.New(controltest.OpenStore(t), core.Config{Now: func() time.Time { return testNow }})
	return New(b, network.New(b))
}

// testVPC creates a VPC 10.0.0.0/16 with a subnet in each of the zones.
func testVPC(t *testing.T, c *ELB, zones ...string) (model.Vpc, []model.Subnet) {
	t.Helper()
	return nettest.VPC(t, c.net, testAcct, "10.0.0.0/16", zones...)
}
