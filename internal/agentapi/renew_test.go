package agentapi

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRenewDue(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(300 * 24 * time.Hour)
	for _, c := range []struct {
		now    time.Time
		before time.Duration
		want   bool
	}{
		{start, 0, false},
		{start.Add(199 * 24 * time.Hour), 0, false},
		{start.Add(200 * 24 * time.Hour), 0, true}, // the last third
		{end.Add(time.Hour), 0, true},
		{end.Add(-48 * time.Hour), 24 * time.Hour, false},
		{end.Add(-24 * time.Hour), 24 * time.Hour, true},
	} {
		if got := RenewDue(start, end, c.now, c.before); got != c.want {
			t.Errorf("RenewDue(at %s, before %s) = %v, want %v", c.now, c.before, got, c.want)
		}
	}
}

// A host renews its certificate: the new one is stored and used, the one it
// renewed with stays accepted (calls in flight, a lost answer), and an older
// one is refused.
func TestRenewKeepsTheHostAndRetiresOldCertificates(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	dir := t.TempDir()
	if _, _, err := Enrol(ctx, dir, f.url, f.token(t).String(), EnrolRequest{Zones: []string{"us-east-1a"}, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	id, _, err := LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	first := id.cert
	c := NewClient(id, dir)
	defer c.Close()
	beat := func(cl *Client) error {
		_, err := cl.Heartbeat(ctx, Report{Zones: []string{"us-east-1a"}, Version: "test", State: "running"})
		return err
	}
	withCert := func(cert tls.Certificate) error {
		return call(ctx, f.clientWith(t, cert), f.url+PathHeartbeat, Report{Zones: []string{"us-east-1a"}, Version: "test"}, &ReportResponse{})
	}
	if _, err := c.Renew(ctx); err != nil {
		t.Fatalf("renew: %v", err)
	}
	second := c.current()
	if second.leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
		t.Fatal("renew kept the same certificate")
	}
	if err := beat(c); err != nil {
		t.Fatalf("heartbeat with the renewed certificate: %v", err)
	}
	if err := withCert(first); err != nil {
		t.Fatalf("the certificate renewed from is refused right after the renewal: %v", err)
	}
	stored, ok, err := LoadIdentity(dir)
	if err != nil || !ok || stored.cert.Leaf.SerialNumber.Cmp(second.leaf.SerialNumber) != 0 {
		t.Fatalf("the data directory holds %v (%v %v), want the renewed certificate %v", stored.cert.Leaf.SerialNumber, ok, err, second.leaf.SerialNumber)
	}
	// A restarted agent with the stored certificate is the same host.
	restarted := NewClient(stored, dir)
	defer restarted.Close()
	if err := beat(restarted); err != nil {
		t.Fatalf("heartbeat after a restart with the stored certificate: %v", err)
	}
	// Renewing again retires the first certificate.
	if _, err := c.Renew(ctx); err != nil {
		t.Fatalf("second renew: %v", err)
	}
	if err := withCert(first); apiCode(err) != CodeHostRemoved {
		t.Fatalf("heartbeat with a certificate two renewals old: %v, want %s", err, CodeHostRemoved)
	}
	if err := beat(c); err != nil {
		t.Fatalf("heartbeat after the second renewal: %v", err)
	}
	list, err := f.reg.Hosts(ctx)
	if err != nil || len(list) != 1 || list[0].CertSerial != c.current().leaf.SerialNumber.Text(16) || !list[0].CertNotAfter.Equal(c.current().leaf.NotAfter) {
		t.Fatalf("registry after renewals: %+v %v", list, err)
	}
	if _, err := os.Stat(filepath.Join(dir, certFile)); err != nil {
		t.Fatal(err)
	}
}

// Run renews a certificate that is due before it reports.
func TestRunRenewsADueCertificate(t *testing.T) {
	f := start(t)
	dir := t.TempDir()
	if _, _, err := Enrol(context.Background(), dir, f.url, f.token(t).String(), EnrolRequest{Zones: []string{"us-east-1a"}, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	enrolled, _, err := LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	// Due at once: renew while more than the whole lifetime is left.
	go func() {
		done <- Run(ctx, AgentConfig{Server: f.url, DataDir: dir, Zones: []string{"us-east-1a"}, Version: "test", RenewBefore: 2 * 365 * 24 * time.Hour})
	}()
	for {
		id, _, err := LoadIdentity(dir)
		if err == nil && id.cert.Leaf.SerialNumber.Cmp(enrolled.cert.Leaf.SerialNumber) != 0 {
			list, _ := f.reg.Hosts(context.Background())
			if len(list) == 1 && list[0].AgentState == "running" {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("Run ended: %v", err)
		case <-ctx.Done():
			t.Fatal("the certificate was not renewed and reported with")
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
