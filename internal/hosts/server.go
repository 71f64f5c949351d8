package hosts

import (
	"context"
	"slices"
	"time"

	"strait/internal/model"
)

// ServerHost is the server's own data plane as a host of the list: it serves
// every zone no enrolled host serves. It is not in the store (it is this
// server's, and goes with it), cannot be removed and needs no certificate.
type ServerHost struct {
	ID              string // how the fleet names it (fleet.LocalID)
	BackboneAddress string // "" when it is off the backbone
	BackboneMethod  string
	BackboneKey     string
	TransitIP       string
	Version         string
	Started         time.Time
}

// SetServer makes the server's own data plane a row of HostsWithServer.
func (r *Registry) SetServer(h ServerHost) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.server = &h
}

// HostsWithServer is Hosts with the server's own data plane (SetServer) as
// its last row: ready while the server answers, serving the zones no listed
// host serves.
func (r *Registry) HostsWithServer(ctx context.Context) ([]Status, error) {
	list, err := r.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	srv := r.server
	r.mu.Unlock()
	if srv == nil {
		return list, nil
	}
	served := map[string]bool{}
	for _, h := range list {
		for _, z := range h.Zones {
			served[z] = true
		}
	}
	var zones []string
	for _, z := range r.cfg.Zones {
		if !served[z.Name] {
			zones = append(zones, z.Name)
		}
	}
	slices.Sort(zones)
	now := r.cfg.Now().UTC()
	method := srv.BackboneMethod
	if method == "" {
		method = model.BackboneNone
	}
	row := Status{State: StateReady, Server: true, Host: model.Host{ID: srv.ID, Zones: zones, BackboneAddress: srv.BackboneAddress,
		BackboneMethod: method, BackboneKey: srv.BackboneKey, TransitIP: srv.TransitIP, Version: srv.Version,
		AgentState: "running", Enrolled: srv.Started.UTC(), LastReport: now}}
	return append(list, row), nil
}
