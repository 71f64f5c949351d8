package agentapi

import (
	"testing"
	"time"

	"strait/internal/hosts"
)

// The listener's certificate is issued again once it is due, and not before.
func TestServingCertIsIssuedAgainWhenDue(t *testing.T) {
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	ca, err := hosts.NewCA("us-east-1", now)
	if err != nil {
		t.Fatal(err)
	}
	s := &servingCert{ca: ca, names: []string{"localhost"}, now: func() time.Time { return now }}
	first, err := s.get(nil)
	if err != nil {
		t.Fatal(err)
	}
	lifetime := first.Leaf.NotAfter.Sub(first.Leaf.NotBefore)
	now = now.Add(lifetime / 2)
	if again, _ := s.get(nil); again != first {
		t.Fatal("issued again halfway through its lifetime")
	}
	now = first.Leaf.NotAfter.Add(-lifetime / 4)
	renewed, err := s.get(nil)
	if err != nil {
		t.Fatal(err)
	}
	if renewed == first || !renewed.Leaf.NotAfter.After(first.Leaf.NotAfter) {
		t.Fatalf("in the last third: serving the certificate until %s, want a new one", renewed.Leaf.NotAfter)
	}
}
