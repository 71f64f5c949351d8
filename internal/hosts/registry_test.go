package hosts

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"strait/internal/model"
	"strait/internal/store"
)

// clock is a settable time for the registry.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func zones() []model.AvailabilityZone {
	return []model.AvailabilityZone{{Name: "us-east-1a", ZoneID: "use1-az1"}, {Name: "us-east-1b", ZoneID: "use1-az2"}, {Name: "us-east-1c", ZoneID: "use1-az3"}}
}

// openStore opens an embedded etcd in a fresh directory.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newRegistry(t *testing.T, st *store.Store, c *clock) *Registry {
	return New(st, Config{Region: "us-east-1", Zones: zones(), Now: c.Now, HeartbeatInterval: 3 * time.Second})
}

// enrol enrols a host for zones with a fresh token.
func enrol(t *testing.T, r *Registry, zs ...string) (model.Host, *x509.Certificate) {
	t.Helper()
	ctx := context.Background()
	tok, _, err := r.CreateToken(ctx, time.Hour, "test")
	if err != nil {
		t.Fatal(err)
	}
	h, certPEM, err := r.Enrol(ctx, EnrolInput{Token: tok.String(), CSRPEM: csrPEM(t, p256(t)), Zones: zs, BackboneAddress: "192.0.2.1", Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ParseCertificatePEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return h, cert
}

func wantReason(t *testing.T, what string, err error, reason model.Reason) {
	t.Helper()
	var de *model.Error
	if !errors.As(err, &de) || de.Reason != reason {
		t.Fatalf("%s: got %v, want reason %s", what, err, reason)
	}
}

// Two replicas over one store share one CA, whoever created it.
func TestReplicasShareTheCA(t *testing.T) {
	st := openStore(t)
	c := &clock{now: time.Now()}
	a, b := newRegistry(t, st, c), newRegistry(t, st, c)
	var wg sync.WaitGroup
	pins := make([]string, 2)
	for i, r := range []*Registry{a, b} {
		wg.Go(func() {
			ca, err := r.CA(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			pins[i] = ca.Pin()
		})
	}
	wg.Wait()
	if pins[0] == "" || pins[0] != pins[1] {
		t.Fatalf("replicas have CAs %q and %q", pins[0], pins[1])
	}
	// A token of one replica enrols on the other.
	tok, _, err := a.CreateToken(context.Background(), time.Hour, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Enrol(context.Background(), EnrolInput{Token: tok.String(), CSRPEM: csrPEM(t, p256(t)), Zones: []string{"us-east-1a"}, BackboneAddress: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
}

func TestEnrolUsesTheTokenOnce(t *testing.T) {
	st := openStore(t)
	c := &clock{now: time.Now()}
	r := newRegistry(t, st, c)
	ctx := context.Background()
	tok, rec, err := r.CreateToken(ctx, time.Hour, "account 111111111111")
	if err != nil {
		t.Fatal(err)
	}
	if rec.SecretHash == "" || strings.Contains(rec.SecretHash, tok.Secret) {
		t.Fatal("the token's secret is stored, not its hash")
	}
	in := EnrolInput{Token: tok.String(), CSRPEM: csrPEM(t, p256(t)), Zones: []string{"use1-az2", "us-east-1a", "us-east-1b"}, BackboneAddress: "192.0.2.1", Version: "v1"}
	h, _, err := r.Enrol(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h.ID, "host-") || len(h.ID) != len("host-")+16 {
		t.Errorf("host ID %q", h.ID)
	}
	if strings.Join(h.Zones, ",") != "us-east-1a,us-east-1b" {
		t.Errorf("zones %v: want names, deduplicated, sorted", h.Zones)
	}
	in.Zones = []string{"us-east-1c"}
	in.CSRPEM = csrPEM(t, p256(t)) // another key: another host
	_, _, err = r.Enrol(ctx, in)
	wantReason(t, "reused token", err, model.ReasonJoinToken)
	if !strings.Contains(err.Error(), "already used (by "+h.ID) {
		t.Errorf("reuse error does not name the host that used it: %v", err)
	}
	list, _ := r.Hosts(ctx)
	if len(list) != 1 {
		t.Fatalf("%d hosts after a refused enrolment, want 1", len(list))
	}
}

func TestEnrolRefuses(t *testing.T) {
	st := openStore(t)
	c := &clock{now: time.Now()}
	r := newRegistry(t, st, c)
	ctx := context.Background()
	first, _ := enrol(t, r, "us-east-1a")
	newTok := func(ttl time.Duration) string {
		tok, _, err := r.CreateToken(ctx, ttl, "test")
		if err != nil {
			t.Fatal(err)
		}
		return tok.String()
	}
	input := func(tok string, zs ...string) EnrolInput {
		return EnrolInput{Token: tok, CSRPEM: csrPEM(t, p256(t)), Zones: zs, BackboneAddress: "192.0.2.2"}
	}

	_, _, err := r.Enrol(ctx, input(newTok(time.Hour), "us-east-1a"))
	wantReason(t, "zone of another host", err, model.ReasonZoneServed)
	if !errors.Is(err, model.ErrConflict) || !strings.Contains(err.Error(), first.ID) {
		t.Errorf("zone conflict: %v", err)
	}
	_, _, err = r.Enrol(ctx, input(newTok(time.Hour), "us-east-1z"))
	wantReason(t, "unknown zone", err, model.ReasonZone)

	tok := newTok(time.Minute)
	c.Add(time.Minute)
	_, _, err = r.Enrol(ctx, input(tok, "us-east-1b"))
	wantReason(t, "expired token", err, model.ReasonJoinToken)

	parsed, _ := ParseToken(newTok(time.Hour))
	parsed.Secret = strings.Repeat("0", 32)
	_, _, err = r.Enrol(ctx, input(parsed.String(), "us-east-1b"))
	wantReason(t, "wrong secret", err, model.ReasonJoinToken)

	parsed, _ = ParseToken(newTok(time.Hour))
	other, _ := NewCA("us-east-1", c.Now())
	parsed.Pin = other.Pin()
	_, _, err = r.Enrol(ctx, input(parsed.String(), "us-east-1b"))
	wantReason(t, "another CA's pin", err, model.ReasonJoinToken)

	if _, _, err = r.Enrol(ctx, EnrolInput{Token: newTok(time.Hour), CSRPEM: csrPEM(t, p256(t)), Zones: []string{"us-east-1b"}, BackboneAddress: "nowhere"}); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("a backbone address that is no IP: %v", err)
	}
	// None of the refusals used its token or left a host.
	list, _ := r.Hosts(ctx)
	if len(list) != 1 {
		t.Fatalf("%d hosts, want 1", len(list))
	}
	// Creating a token removes the expired ones.
	var n int
	st.List(ctx, model.KindJoinToken+"/", func(string, []byte) error { n++; return nil })
	c.Add(2 * time.Hour)
	newTok(time.Hour)
	var after int
	st.List(ctx, model.KindJoinToken+"/", func(string, []byte) error { after++; return nil })
	if after != 1 {
		t.Errorf("%d tokens after the others expired (before: %d), want 1", after, n)
	}
}

// A host is ready while it reports, unreachable since three intervals after
// its last report, and ready again when it reports.
func TestHeartbeatsMakeTheState(t *testing.T) {
	st := openStore(t)
	c := &clock{now: time.Now().UTC()}
	r := newRegistry(t, st, c)
	ctx := context.Background()
	h, _ := enrol(t, r, "us-east-1b")
	state := func() Status {
		t.Helper()
		list, err := r.Hosts(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("hosts %v, %v", list, err)
		}
		return list[0]
	}
	if s := state(); s.State != StateReady {
		t.Fatalf("just enrolled: %s", s.State)
	}
	last := c.Now()
	c.Add(9*time.Second - time.Nanosecond)
	if s := state(); s.State != StateReady {
		t.Fatalf("within three intervals: %s", s.State)
	}
	c.Add(time.Nanosecond)
	s := state()
	if s.State != StateUnreachable || !s.UnreachableSince.Equal(last.Add(9*time.Second)) {
		t.Fatalf("after three intervals: %s since %s", s.State, s.UnreachableSince)
	}
	if _, err := r.Report(ctx, h.ID, Report{Zones: []string{"us-east-1b"}, BackboneAddress: "192.0.2.9", Version: "v2", State: "running"}); err != nil {
		t.Fatal(err)
	}
	s = state()
	if s.State != StateReady || s.BackboneAddress != "192.0.2.9" || s.Version != "v2" || !s.LastReport.Equal(c.Now()) {
		t.Fatalf("after a report: %+v", s)
	}
	// A report that moves to a zone another host serves is refused.
	enrol(t, r, "us-east-1c")
	_, err := r.Report(ctx, h.ID, Report{Zones: []string{"us-east-1c"}, BackboneAddress: "192.0.2.9"})
	wantReason(t, "report taking another host's zone", err, model.ReasonZoneServed)
}

// A removed host's certificate is no longer accepted, nor is a certificate the
// host was not issued; its zones are free again.
func TestRemoveRevokes(t *testing.T) {
	st := openStore(t)
	c := &clock{now: time.Now()}
	r := newRegistry(t, st, c)
	ctx := context.Background()
	h, cert := enrol(t, r, "us-east-1a")
	if got, err := r.Authenticate(ctx, cert); err != nil || got.ID != h.ID {
		t.Fatalf("authenticate: %v, %v", got.ID, err)
	}
	ca, _ := r.CA(ctx)
	forged, _, err := ca.SignHost(csrPEM(t, p256(t)), h.ID, c.Now()) // the host's ID, another serial
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Authenticate(ctx, forged)
	wantReason(t, "a second certificate for the host", err, model.ReasonHostRemoved)

	if err := r.Remove(ctx, h.ID); err != nil {
		t.Fatal(err)
	}
	_, err = r.Authenticate(ctx, cert)
	wantReason(t, "removed host", err, model.ReasonHostRemoved)
	_, err = r.Report(ctx, h.ID, Report{Zones: []string{"us-east-1a"}, BackboneAddress: "192.0.2.1"})
	wantReason(t, "report of a removed host", err, model.ReasonHostRemoved)
	if err := r.Remove(ctx, h.ID); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("removing twice: %v", err)
	}
	if err := r.Remove(ctx, "host-XYZ"); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("malformed ID: %v", err)
	}
	enrol(t, r, "us-east-1a") // the zone is free
}

// An agent whose enrolment was cut off after the server admitted it sends the
// same token and key again: it is the same host with a new certificate (the
// first one, never received, is refused from then on), until the token
// expires or the host is removed.
func TestEnrolAgainWithTheSameKey(t *testing.T) {
	st := openStore(t)
	c := &clock{now: time.Now()}
	r := newRegistry(t, st, c)
	ctx := context.Background()
	tok, _, err := r.CreateToken(ctx, time.Hour, "test")
	if err != nil {
		t.Fatal(err)
	}
	in := EnrolInput{Token: tok.String(), CSRPEM: csrPEM(t, p256(t)), Zones: []string{"us-east-1a"}, BackboneAddress: "192.0.2.1", Version: "v1"}
	first, firstPEM, err := r.Enrol(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, againPEM, err := r.Enrol(ctx, in)
	if err != nil {
		t.Fatalf("the same token and key again: %v", err)
	}
	if again.ID != first.ID || again.CertSerial == first.CertSerial || !again.Enrolled.Equal(first.Enrolled) || again.TransitIP != first.TransitIP {
		t.Fatalf("enrolled again as %+v, first %+v: want the same host, enrolled when it was, with a new certificate", again, first)
	}
	lost, _ := ParseCertificatePEM(firstPEM)
	if _, err := r.Authenticate(ctx, lost); err == nil {
		t.Error("the certificate the agent never got is still accepted")
	}
	got, _ := ParseCertificatePEM(againPEM)
	if h, err := r.Authenticate(ctx, got); err != nil || h.ID != first.ID {
		t.Errorf("the new certificate: %+v, %v", h, err)
	}
	if list, _ := r.Hosts(ctx); len(list) != 1 {
		t.Fatalf("%d hosts, want 1", len(list))
	}
	// Not once the host is removed, nor after the token expired.
	c.Add(2 * time.Hour)
	_, _, err = r.Enrol(ctx, in)
	wantReason(t, "expired token, same key", err, model.ReasonJoinToken)
	c.Add(-2 * time.Hour)
	if err := r.Remove(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Enrol(ctx, in); err == nil {
		t.Fatal("a removed host enrolled again with its old token")
	}
}

// The backbone fields come with reports: method and public key are recorded,
// an encrypted method without a key or a malformed key is refused, no method
// is "none". The pair secret is made once and shared by replicas.
func TestBackboneMethodKeyAndPairSecret(t *testing.T) {
	st := openStore(t)
	c := &clock{now: time.Now().UTC()}
	r := newRegistry(t, st, c)
	ctx := context.Background()
	h, _ := enrol(t, r, "us-east-1b")
	if h.BackboneMethod != model.BackboneNone || h.BackboneKey != "" {
		t.Fatalf("enrolled without a backbone: method %q key %q", h.BackboneMethod, h.BackboneKey)
	}
	key := "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=" // 32 bytes
	rep := Report{Zones: []string{"us-east-1b"}, BackboneAddress: "192.0.2.9", BackboneMethod: model.BackboneWireGuardGo, BackboneKey: key}
	got, err := r.Report(ctx, h.ID, rep)
	if err != nil || got.BackboneMethod != model.BackboneWireGuardGo || got.BackboneKey != key {
		t.Fatalf("report with a key: %+v, %v", got, err)
	}
	for _, bad := range []Report{
		{BackboneMethod: model.BackboneWireGuardGo},
		{BackboneMethod: model.BackboneWireGuardGo, BackboneKey: "AQID"},
		{BackboneMethod: "ipsec", BackboneKey: key},
	} {
		bad.Zones, bad.BackboneAddress = rep.Zones, rep.BackboneAddress
		if _, err := r.Report(ctx, h.ID, bad); !errors.Is(err, model.ErrInvalid) && !errors.Is(err, model.ErrMissing) {
			t.Errorf("report %+v: got %v, want it refused", bad, err)
		}
	}
	if list, _ := r.Hosts(ctx); list[0].BackboneKey != key {
		t.Errorf("a refused report changed the key: %q", list[0].BackboneKey)
	}
	s1, err := r.PairSecret(ctx)
	if err != nil || len(s1) != 32 {
		t.Fatalf("pair secret %d bytes, %v", len(s1), err)
	}
	s2, err := newRegistry(t, st, c).PairSecret(ctx)
	if err != nil || string(s1) != string(s2) {
		t.Fatalf("another replica's pair secret differs (%v)", err)
	}
}

// Each host gets a transit address of its own at enrolment, the lowest free
// after the local host's (169.254.0.2); a removed host's is given out again;
// a host recorded without one (enrolled by an earlier version) gets one with
// its next report.
func TestHostTransitAddresses(t *testing.T) {
	st := openStore(t)
	c := &clock{now: time.Now()}
	r := newRegistry(t, st, c)
	ctx := context.Background()
	a, _ := enrol(t, r, "us-east-1a")
	b, _ := enrol(t, r, "us-east-1b")
	if a.TransitIP != "169.254.0.3" || b.TransitIP != "169.254.0.4" {
		t.Fatalf("transit addresses %q and %q, want 169.254.0.3 and 169.254.0.4", a.TransitIP, b.TransitIP)
	}
	if err := r.Remove(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	cHost, _ := enrol(t, r, "us-east-1c")
	if cHost.TransitIP != "169.254.0.3" {
		t.Errorf("after a host left: %q, want its 169.254.0.3", cHost.TransitIP)
	}
	// An old record without an address, whose address another host got
	// meanwhile: the report gives it a free one.
	old := b
	old.TransitIP = ""
	if err := st.Update(ctx, func(tx *store.Tx) error { return tx.Put(hostKey(b.ID), old) }); err != nil {
		t.Fatal(err)
	}
	got, err := r.Report(ctx, b.ID, Report{Zones: []string{"us-east-1b"}, BackboneAddress: "192.0.2.1"})
	if err != nil || got.TransitIP != "169.254.0.4" {
		t.Errorf("report of a host without a transit address: %q, %v; want 169.254.0.4", got.TransitIP, err)
	}
	got, err = r.Report(ctx, b.ID, Report{Zones: []string{"us-east-1b"}, BackboneAddress: "192.0.2.1"})
	if err != nil || got.TransitIP != "169.254.0.4" {
		t.Errorf("next report: %q, %v; the host keeps 169.254.0.4", got.TransitIP, err)
	}
}
