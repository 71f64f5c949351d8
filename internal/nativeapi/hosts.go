package nativeapi

import (
	"context"
	"net/http"
	"time"

	"strait/internal/hosts"
)

// Host is a host that joined the region with `strait agent`. State is ready,
// or unreachable (since UnreachableSince) once it has not reported for three
// heartbeat intervals. BackboneMethod is how its agent joins the backbone
// (wireguard, wireguard-go, plain; "none" for an agent that does not) and BackboneKey its
// WireGuard public key (public: never a private key). TransitIP is the
// host's own transit address: its flows to other hosts' load balancer nodes
// leave from it (docs/hosts.md).
type Host struct {
	HostID           string     `json:"host_id"`
	Zones            []string   `json:"zones"`
	BackboneAddress  string     `json:"backbone_address"`
	BackboneMethod   string     `json:"backbone_method"`
	BackboneKey      string     `json:"backbone_key,omitempty"`
	TransitIP        string     `json:"transit_ip,omitempty"`
	State            string     `json:"state"`
	UnreachableSince *time.Time `json:"unreachable_since,omitempty"`
	LastReport       time.Time  `json:"last_report"`
	Version          string     `json:"version"`
	Enrolled         time.Time  `json:"enrolled"`
	// Server marks the server's own data plane (HOST_ID local): it serves the
	// zones no enrolled host serves; Enrolled is when the server started.
	Server bool `json:"server,omitempty"`
}

// HostList is the body of GET /strait/v1/hosts.
type HostList struct {
	Hosts []Host `json:"hosts"`
}

// CreateJoinTokenRequest is the body of POST /strait/v1/hosts/tokens: how long
// the token lives (default 3600 seconds, at most a week).
type CreateJoinTokenRequest struct {
	TTLSeconds int64 `json:"ttl_seconds,omitempty"`
}

// JoinToken is a new one-time join token: `strait agent --token TOKEN`.
type JoinToken struct {
	Token    string    `json:"token"`
	TokenID  string    `json:"token_id"`
	Expires  time.Time `json:"expires"`
	CASHA256 string    `json:"ca_sha256"`
}

// DefaultTokenTTL is a join token's lifetime when none is asked for.
const DefaultTokenTTL = time.Hour

// HostView is a registry entry as the API shows it.
func HostView(s hosts.Status) Host {
	out := Host{HostID: s.ID, Zones: s.Zones, BackboneAddress: s.BackboneAddress, BackboneMethod: s.BackboneMethod, BackboneKey: s.BackboneKey,
		TransitIP: s.TransitIP, State: s.State, LastReport: s.LastReport, Version: s.Version, Enrolled: s.Enrolled, Server: s.Server}
	if s.State == hosts.StateUnreachable {
		t := s.UnreachableSince
		out.UnreachableSince = &t
	}
	if out.Zones == nil {
		out.Zones = []string{}
	}
	return out
}

// HostsView lists the registry as the API shows it.
func HostsView(list []hosts.Status) HostList {
	out := HostList{Hosts: []Host{}}
	for _, s := range list {
		out.Hosts = append(out.Hosts, HostView(s))
	}
	return out
}

// CreateJoinToken issues a join token on reg for createdBy.
func CreateJoinToken(ctx context.Context, reg *hosts.Registry, req CreateJoinTokenRequest, createdBy string) (JoinToken, error) {
	ttl := DefaultTokenTTL
	if req.TTLSeconds != 0 {
		ttl = time.Duration(req.TTLSeconds) * time.Second
	}
	t, rec, err := reg.CreateToken(ctx, ttl, createdBy)
	if err != nil {
		return JoinToken{}, err
	}
	return JoinToken{Token: t.String(), TokenID: t.ID, Expires: rec.Expires, CASHA256: t.Pin}, nil
}

// operator admits the region's operator to host management: with --dev any
// account. Without it no account is the operator yet; the admin socket on the
// server's host is (`strait host … --data-dir`).
func (a *API) operator(acct string) error {
	if a.cfg.Hosts == nil {
		return &apiError{Status: http.StatusNotFound, Code: "UnknownOperation", Message: "This server keeps no host registry"}
	}
	if a.cfg.Dev {
		return nil
	}
	return &apiError{Status: http.StatusForbidden, Code: "UnauthorizedOperation",
		Message: "Account " + acct + " may not manage the region's hosts: that is the operator's, through the admin socket on the server's host (run `strait host …` there as the server's user, with its --data-dir)"}
}

func (a *API) listHosts(ctx context.Context, acct string, _ *http.Request, _ []byte) (int, any, error) {
	if err := a.operator(acct); err != nil {
		return 0, nil, err
	}
	list, err := a.cfg.Hosts.HostsWithServer(ctx)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, HostsView(list), nil
}

func (a *API) createJoinToken(ctx context.Context, acct string, _ *http.Request, body []byte) (int, any, error) {
	if err := a.operator(acct); err != nil {
		return 0, nil, err
	}
	var req CreateJoinTokenRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	out, err := CreateJoinToken(ctx, a.cfg.Hosts, req, "account "+acct)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, out, nil
}

func (a *API) removeHost(ctx context.Context, acct string, r *http.Request, _ []byte) (int, any, error) {
	if err := a.operator(acct); err != nil {
		return 0, nil, err
	}
	if err := a.cfg.Hosts.Remove(ctx, r.PathValue("id")); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct{}{}, nil
}
