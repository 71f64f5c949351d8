package awsapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"strait/internal/model"
	"strait/internal/store"
)

// A store call that etcd could not answer is ServiceUnavailable (HTTP 503,
// which the SDKs retry) in EC2 and ELBv2, saying why and, for a write, that it
// may have been made; any other failure stays an opaque InternalError.
func TestTranslateUnavailable(t *testing.T) {
	ms, err := models()
	if err != nil {
		t.Fatal(err)
	}
	a := &API{}
	cause := &store.UnavailableError{Op: "update", Reason: "etcd has no quorum: 1 of 3 members reachable, 2 needed", OutcomeUnknown: true, Err: context.DeadlineExceeded}
	if !errors.Is(cause, model.ErrUnavailable) || !errors.Is(cause, store.ErrUnavailable) {
		t.Fatalf("%v is not model.ErrUnavailable and store.ErrUnavailable", cause)
	}
	for _, m := range ms {
		ae := a.translate(m, fmt.Errorf("create endpoint: %w", cause))
		if ae.Code != "ServiceUnavailable" || ae.Status != http.StatusServiceUnavailable ||
			!strings.Contains(ae.Message, "1 of 3 members reachable") || !strings.Contains(ae.Message, "may or may not have been made") {
			t.Errorf("%s: %+v", m.Metadata.Protocol, ae)
		}
		if ae := a.translate(m, context.DeadlineExceeded); ae.Code != "InternalError" {
			t.Errorf("%s: a plain failure: %+v", m.Metadata.Protocol, ae)
		}
	}
}
