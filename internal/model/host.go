package model

import (
	"log/slog"
	"time"
)

// Store kinds of the host registry (see internal/hosts).
const (
	// KindHost is a host that joined the region with `strait agent`.
	KindHost = "host"
	// KindHostCA is the region's certificate authority for hosts (one record).
	KindHostCA = "hostca"
	// KindJoinToken is a one-time join token, stored hashed.
	KindJoinToken = "jointoken"
	// KindBackboneSecret is the region's backbone pair secret (one record).
	KindBackboneSecret = "backbonesecret"
)

// PrefixHost is the prefix of host IDs (host-<16 hex digits>).
const PrefixHost = "host"

// The reasons of the host registry's errors.
const (
	// ReasonJoinToken: the join token is malformed, unknown, expired or used.
	ReasonJoinToken Reason = "join-token"
	// ReasonZoneServed: another host already serves the zone.
	ReasonZoneServed Reason = "zone-served"
	// ReasonZone: the zone is not a zone of the region.
	ReasonZone Reason = "zone"
	// ReasonHostRemoved: the host's certificate belongs to a host that was
	// removed from the region (or never enrolled).
	ReasonHostRemoved Reason = "host-removed"
)

// Backbone methods a host reports (the values of backbone.Method).
const (
	// BackboneNone: the host's agent does not join the backbone (an agent
	// from before the backbone): its traffic is not carried to other hosts.
	BackboneNone = "none"
	// BackboneWireGuard is the kernel's WireGuard.
	BackboneWireGuard = "wireguard"
	// BackboneWireGuardGo is WireGuard in the agent's process on a TUN device.
	BackboneWireGuardGo = "wireguard-go"
	// BackbonePlain is unencrypted VXLAN, for trusted networks only.
	BackbonePlain = "plain"
)

// Host is a host that joined the region: the availability zones it serves, the
// address other hosts reach it on, and what its agent last reported.
type Host struct {
	ID              string   `json:"id"`
	Zones           []string `json:"zones"`
	BackboneAddress string   `json:"backbone_address"`
	BackboneMethod  string   `json:"backbone_method"`
	// BackboneKey is the host's WireGuard public key (base64), "" when it
	// reported none.
	BackboneKey string `json:"backbone_key,omitempty"`
	// TransitIP is the host's own transit address (IsHostTransit), unique in
	// the region: its flows to other hosts' load balancer nodes leave from
	// it. Allocated at enrolment; "" in records written before.
	TransitIP  string    `json:"transit_ip,omitempty"`
	Version    string    `json:"version"`
	AgentState string    `json:"agent_state,omitempty"`
	Enrolled   time.Time `json:"enrolled"`
	LastReport time.Time `json:"last_report"`
	// CertSerial is the serial number (hex) of the host's newest certificate;
	// CertNotAfter is when it expires. PrevCertSerial is the certificate the
	// host renewed it with, still accepted until it expires or the host renews
	// again (its calls in flight, or an answer to the renewal that was lost).
	CertSerial     string    `json:"cert_serial"`
	CertNotAfter   time.Time `json:"cert_not_after"`
	PrevCertSerial string    `json:"prev_cert_serial,omitempty"`
	// Token is the ID of the join token the host enrolled with.
	Token string `json:"token"`
}

// HostCA is the region's certificate authority for hosts: its certificate and
// its private key (PEM). The key is in the store only: it is never logged (see
// LogValue) and never served.
type HostCA struct {
	CertPEM string    `json:"cert_pem"`
	KeyPEM  string    `json:"key_pem"`
	Created time.Time `json:"created"`
}

// LogValue keeps the private key out of logs.
func (c HostCA) LogValue() slog.Value {
	return slog.GroupValue(slog.Time("created", c.Created), slog.String("key_pem", "[redacted]"))
}

// JoinToken is a one-time join token: its ID, the SHA-256 of its secret, when it
// expires and, once used, which host used it and when.
type JoinToken struct {
	ID         string    `json:"id"`
	SecretHash string    `json:"secret_hash"`
	Created    time.Time `json:"created"`
	Expires    time.Time `json:"expires"`
	CreatedBy  string    `json:"created_by"`
	UsedBy     string    `json:"used_by,omitempty"`
	UsedAt     time.Time `json:"used_at,omitzero"`
	// UsedKey is the SHA-256 (hex) of the public key the host enrolled with:
	// an agent cut off before it got its certificate may enrol again with the
	// same token and key, as the same host, until the token expires.
	UsedKey string `json:"used_key,omitempty"`
}

// BackboneSecret is the region's backbone pair secret: each pair of hosts gets
// a preshared key derived from it (backbone.PairKey), handed to those two
// hosts only. It is in the store only: never logged (see LogValue), never
// served.
type BackboneSecret struct {
	Secret  []byte    `json:"secret"`
	Created time.Time `json:"created"`
}

// LogValue keeps the secret out of logs.
func (s BackboneSecret) LogValue() slog.Value {
	return slog.GroupValue(slog.Time("created", s.Created), slog.String("secret", "[redacted]"))
}
