// Package agentapi is the API between the server and the agents of other hosts:
// the server's agent listener (HTTPS; every call but enrolment is mutual TLS
// with a host certificate from the region's CA) and the agent's side of it —
// enrolment with a one-time join token, the credentials it keeps in its data
// directory, and heartbeats.
//
//	GET  /agent/v1/ca         the CA certificate (PEM); the agent checks it against its token's pin
//	POST /agent/v1/enrol      token + CSR + zones → the host's certificate (server verified by the CA)
//	POST /agent/v1/heartbeat  (mutual TLS) the agent's report → the heartbeat interval
//	GET  /agent/v1/state?after=REV  (mutual TLS) the host's part of the desired state
//	                          newer than REV (long poll: 204 when none came within PollWait)
//	POST /agent/v1/report     (mutual TLS) what the host realized of a revision, its traffic
//	                          and its view of target health
//	POST /agent/v1/renew      (mutual TLS) a CSR for the host's key → a new certificate; the
//	                          agent renews in the last third of its certificate's lifetime
//
// The host of a call is the one its verified client certificate names, never
// anything in the request.
// Errors are JSON, {"error": {"code": …, "message": …}}, as in the native API.
package agentapi

import (
	"context"

	"strait/internal/agent"
	"strait/internal/dataplane"
	"strait/internal/placement"
)

// Paths of the agent API.
const (
	PathCA        = "/agent/v1/ca"
	PathEnrol     = "/agent/v1/enrol"
	PathHeartbeat = "/agent/v1/heartbeat"
	PathState     = "/agent/v1/state"
	PathReport    = "/agent/v1/report"
	PathRenew     = "/agent/v1/renew"
)

// Fleet is where the agent listener finds each host's part of the desired
// state and takes the hosts' reports (package fleet).
type Fleet interface {
	// Watch delivers host's part when its revision is above after, then each
	// newer one; the channel closes when ctx is done or the host is gone.
	Watch(ctx context.Context, host string, after uint64) <-chan placement.Update
	// Report takes what host realized of a revision, its traffic counters
	// since its agent process started (epoch) and its view of target health.
	Report(host string, rep placement.Report, epoch string, traffic map[string]dataplane.Stats, health []placement.TargetHealth)
}

// StateResponse is a host's part of the desired state under its revision.
type StateResponse struct {
	Revision uint64      `json:"revision"`
	State    agent.State `json:"state"`
}

// StateReport is what a host's agent realized of the part of Revision: the
// IDs of it that are ready, the IDs the host still has something of, and its
// traffic counters per endpoint since its process started (Epoch names the
// process).
type StateReport struct {
	Revision uint64                     `json:"revision"`
	Ready    []string                   `json:"ready"`
	Present  []string                   `json:"present"`
	Epoch    string                     `json:"epoch"`
	Traffic  map[string]dataplane.Stats `json:"traffic,omitempty"`
	// Health is the host's view of the health of the targets its load
	// balancer nodes check (the whole of it, each report).
	Health []placement.TargetHealth `json:"health,omitempty"`
}

// DefaultPort is the agent listener's default port (`strait server --agent-listen :8788`).
const DefaultPort = "8788"

// EnrolRequest is what an agent sends to join the region. An empty
// BackboneAddress means the address the request came from. BackboneMethod is
// how the host joins the backbone (backbone.Method; empty: it does not) and
// BackboneKey its WireGuard public key (base64).
type EnrolRequest struct {
	Token           string   `json:"token"`
	CSR             string   `json:"csr"`
	Zones           []string `json:"zones"`
	BackboneAddress string   `json:"backbone_address,omitempty"`
	BackboneMethod  string   `json:"backbone_method,omitempty"`
	BackboneKey     string   `json:"backbone_key,omitempty"`
	Version         string   `json:"version"`
}

// EnrolResponse is the enrolled host: its ID and certificate, the CA that
// signed it, and how often to report.
type EnrolResponse struct {
	HostID                   string  `json:"host_id"`
	Certificate              string  `json:"certificate"`
	CA                       string  `json:"ca"`
	HeartbeatIntervalSeconds float64 `json:"heartbeat_interval_seconds"`
}

// Report is an agent's heartbeat. An empty BackboneAddress means the address
// the request came from; the backbone fields are EnrolRequest's.
type Report struct {
	Zones           []string `json:"zones"`
	BackboneAddress string   `json:"backbone_address,omitempty"`
	BackboneMethod  string   `json:"backbone_method,omitempty"`
	BackboneKey     string   `json:"backbone_key,omitempty"`
	Version         string   `json:"version"`
	State           string   `json:"state"`
}

// ReportResponse acknowledges a heartbeat.
type ReportResponse struct {
	HostID                   string  `json:"host_id"`
	HeartbeatIntervalSeconds float64 `json:"heartbeat_interval_seconds"`
	// Servers are the agent listeners of the region's server replicas, for
	// the agent to call when its server is gone.
	Servers []string `json:"servers,omitempty"`
}

// ErrorBody is the JSON of an error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is an error's code and message.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Leader is the leading replica's agent listener, with CodeNotLeader
	// when it is known.
	Leader string `json:"leader,omitempty"`
}

// Error is an error response, as the agent sees it.
type Error struct {
	Status int
	ErrorDetail
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Codes of the agent API's errors (besides the sentinels' codes).
const (
	CodeHostRemoved       = "HostRemoved"
	CodeInvalidJoinToken  = "InvalidJoinToken"
	CodeZoneAlreadyServed = "ZoneAlreadyServed"
	CodeInvalidZone       = "InvalidZone"
	CodeNoCertificate     = "MissingClientCertificate"
	CodeNoDataplane       = "NoDataplane"
	CodeNotLeader         = "NotLeader"
)
