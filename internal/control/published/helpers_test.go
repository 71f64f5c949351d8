package published

import (
	"testing"
	"time"

	"strait/internal/control/core"
	"strait/internal/control/elb/elbtest"
	"strait/internal/control/endpoints"
)

// The accounts of the tests: a provider publishes services, a consumer connects.
const (
	provider = "111111111111"
	consumer = "222222222222"
)

// testNow is the time of the tests' clock.
var testNow = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// fixture is the published-service operations with the operations they build on.
type fixture struct {
	elbtest.Stack
	pl  *endpoints.PrivateLink
	pub *Published
}

// newFixture opens a store for the test, with the clock fixed at testNow.
func newFixture(t *testing.T) fixture {
	t.Helper()
	return newFixtureClock(t, func() time.Time { return testNow })
}

// newFixtureClock opens a store for the test, with the given clock.
func newFixtureClock(t *testing.T, now func() time.Time) fixture {
	t.Helper()
	s := elbtest.New(t, core.Config{Now: now})
	pl := endpoints.New(s.Base, s.Net, s.ELB)
	return fixture{Stack: s, pl: pl, pub: New(s.Base, s.Net, pl)}
}
