package hosts

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"strait/internal/model"
)

// The server's own data plane is the last row of the list, serving the zones
// no enrolled host serves, and cannot be removed.
func TestHostsWithServer(t *testing.T) {
	c := &clock{now: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	r := newRegistry(t, openStore(t), c)
	ctx := context.Background()
	if l, err := r.HostsWithServer(ctx); err != nil || len(l) != 0 {
		t.Fatalf("without SetServer: %+v %v, want no rows", l, err)
	}
	started := c.Now().Add(-time.Hour)
	r.SetServer(ServerHost{ID: "local", BackboneAddress: "192.0.2.9", BackboneMethod: model.BackboneWireGuardGo, TransitIP: "169.254.0.2", Version: "v9", Started: started})
	l, err := r.HostsWithServer(ctx)
	if err != nil || len(l) != 1 {
		t.Fatalf("server alone: %+v %v", l, err)
	}
	srv := l[0]
	if !srv.Server || srv.ID != "local" || srv.State != StateReady || !slices.Equal(srv.Zones, []string{"us-east-1a", "us-east-1b", "us-east-1c"}) ||
		srv.BackboneAddress != "192.0.2.9" || srv.BackboneMethod != model.BackboneWireGuardGo || srv.Version != "v9" || !srv.Enrolled.Equal(started) {
		t.Fatalf("server alone: %+v", srv)
	}
	h, _ := enrol(t, r, "us-east-1b")
	l, err = r.HostsWithServer(ctx)
	if err != nil || len(l) != 2 || l[0].ID != h.ID || l[0].Server || !l[1].Server || !slices.Equal(l[1].Zones, []string{"us-east-1a", "us-east-1c"}) {
		t.Fatalf("with a host in us-east-1b: %+v %v", l, err)
	}
	// Hosts (what the fleet places on) never has the server's row.
	if l, _ := r.Hosts(ctx); len(l) != 1 || l[0].ID != h.ID {
		t.Fatalf("Hosts: %+v", l)
	}
	if err := r.Remove(ctx, "local"); !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), "server's own data plane") {
		t.Fatalf("removing the server's row: %v", err)
	}
	r.SetServer(ServerHost{ID: "local"})
	if l, _ := r.HostsWithServer(ctx); l[1].BackboneMethod != model.BackboneNone {
		t.Fatalf("a server off the backbone shows method %q, want %s", l[1].BackboneMethod, model.BackboneNone)
	}
}

// A renewal is for the host's own key: a request for another key is refused,
// and the certificate it called with stays the host's.
func TestRenewKeepsTheKey(t *testing.T) {
	c := &clock{now: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	r := newRegistry(t, openStore(t), c)
	h, cert := enrol(t, r, "us-east-1a")
	if _, _, err := r.Renew(context.Background(), h.ID, cert, csrPEM(t, p256(t))); !errors.Is(err, model.ErrInvalid) {
		t.Fatalf("renewing for another key: %v, want invalid", err)
	}
	if got, err := r.Authenticate(context.Background(), cert); err != nil || got.CertSerial != Serial(cert) {
		t.Fatalf("after a refused renewal: %+v %v", got, err)
	}
}
