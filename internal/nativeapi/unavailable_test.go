package nativeapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"strait/internal/store"
)

// A store call that etcd could not answer is a 503 ServiceUnavailable saying
// why, not an opaque InternalError.
func TestTranslateUnavailable(t *testing.T) {
	cause := &store.UnavailableError{Op: "get \"x\"", Reason: "etcd has no quorum: 1 of 3 members reachable, 2 needed", Err: context.DeadlineExceeded}
	ae := translate(fmt.Errorf("publish: %w", cause))
	if ae.Code != "ServiceUnavailable" || ae.Status != http.StatusServiceUnavailable || !strings.Contains(ae.Message, "1 of 3 members reachable") {
		t.Errorf("%+v", ae)
	}
}
