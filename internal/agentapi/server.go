package agentapi

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"strait/internal/hosts"
	"strait/internal/model"
)

// ServerConfig configures the agent listener.
type ServerConfig struct {
	// Listen is the listener's address (host:port; an empty host is every
	// address of this machine).
	Listen string
	// Advertise are further DNS names or IP addresses agents reach the server
	// by; the serving certificate names them besides the listen address.
	Advertise []string
	// Fleet serves the hosts their parts and takes their reports; nil: the
	// server has no data plane to share (--dataplane=none), and the state and
	// report routes say so.
	Fleet Fleet
	// PollWait is how long a state request waits for a newer part before it
	// answers 204 (DefaultPollWait).
	PollWait time.Duration
	// Leader says whether this replica leads the region and, if not, the
	// leader's agent listener ("" when unknown). Only the leader serves
	// parts and takes reports; the others answer NotLeader. Nil: it leads.
	Leader func() (leading bool, leaderURL string)
	// Replicas lists the agent listeners of the region's server replicas,
	// sent to agents with every heartbeat answer. Nil: none are sent.
	Replicas func(ctx context.Context) []string
	Logger   *slog.Logger
}

// DefaultPollWait is how long a state request waits for a newer part.
const DefaultPollWait = 30 * time.Second

// maxReport bounds a report's body: the IDs of a host's part and its
// endpoints' counters.
const maxReport = 16 << 20

// Server is the server's agent listener.
type Server struct {
	reg      *hosts.Registry
	fleet    Fleet
	pollWait time.Duration
	leader   func() (bool, string)
	replicas func(ctx context.Context) []string
	log      *slog.Logger
	ln       net.Listener
	http     *http.Server
}

const maxBody = 64 << 10

// Start listens on cfg.Listen with a serving certificate from the registry's
// CA (issued now, for the listen address and cfg.Advertise) and serves the
// agent API until Close.
func Start(ctx context.Context, reg *hosts.Registry, cfg ServerConfig) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ca, err := reg.CA(ctx)
	if err != nil {
		return nil, err
	}
	names, ips, err := servingNames(cfg.Listen, cfg.Advertise)
	if err != nil {
		return nil, err
	}
	serving := &servingCert{ca: ca, names: names, ips: ips, now: time.Now}
	if _, err := serving.get(nil); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("agent listener on %s: %w", cfg.Listen, err)
	}
	if cfg.PollWait <= 0 {
		cfg.PollWait = DefaultPollWait
	}
	s := &Server{reg: reg, fleet: cfg.Fleet, pollWait: cfg.PollWait, leader: cfg.Leader, replicas: cfg.Replicas, log: cfg.Logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathCA, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(ca.CertPEM)
	})
	mux.HandleFunc("POST "+PathEnrol, s.serve(s.enrol))
	mux.HandleFunc("POST "+PathHeartbeat, s.serve(s.authenticated(s.heartbeat)))
	mux.HandleFunc("GET "+PathState, s.serveLimit(0, s.authenticated(s.state)))
	mux.HandleFunc("POST "+PathReport, s.serveLimit(maxReport, s.authenticated(s.report)))
	mux.HandleFunc("POST "+PathRenew, s.serve(s.authenticated(s.renew)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &Error{Status: http.StatusNotFound, ErrorDetail: ErrorDetail{Code: "UnknownOperation", Message: r.Method + " " + r.URL.Path + " is not an agent API route"}})
	})
	tlsCfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Issued again in the last third of its lifetime.
		GetCertificate: serving.get,
		// Enrolment comes without a certificate; every other call needs one, and
		// a certificate that is given must chain to the CA.
		ClientAuth: tls.VerifyClientCertIfGiven,
		ClientCAs:  ca.Pool(),
	}
	s.ln = tls.NewListener(ln, tlsCfg)
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: cfg.PollWait + 30*time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug)}
	go func() {
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("agent listener stopped", "err", err)
		}
	}()
	s.log.Info("agent listener", "listen", ln.Addr().String(), "names", names, "ips", ips, "ca_sha256", ca.Pin())
	return s, nil
}

// Addr is the listener's address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the listener.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		_ = s.http.Close()
	}
}

// servingNames are the DNS names and IP addresses the serving certificate
// names: the listen host (every address of this machine and its hostname when
// the host is empty or unspecified) and the advertised names.
func servingNames(listen string, advertise []string) ([]string, []net.IP, error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, nil, fmt.Errorf("--agent-listen %q: %w", listen, err)
	}
	names, ips := []string{}, []net.IP{}
	add := func(h string) {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else if h != "" {
			names = append(names, h)
		}
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if hn, err := os.Hostname(); err == nil {
			add(hn)
		}
		add("localhost")
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return nil, nil, fmt.Errorf("listing this host's addresses for the agent listener's certificate: %w", err)
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				ips = append(ips, n.IP)
			}
		}
	} else {
		add(host)
	}
	for _, a := range advertise {
		add(a)
	}
	return names, ips, nil
}

// handler runs one request; it returns the response value or an error.
type handler func(r *http.Request, body []byte) (any, error)

// serve reads the body (up to 64 KiB), runs h and writes its JSON result or error.
func (s *Server) serve(h handler) http.HandlerFunc { return s.serveLimit(maxBody, h) }

// serveLimit reads a body of up to limit bytes, runs h and writes its JSON
// result (204 for none) or error.
func (s *Server) serveLimit(limit int, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
		if err == nil && len(body) > limit {
			err = &Error{Status: http.StatusRequestEntityTooLarge, ErrorDetail: ErrorDetail{Code: "RequestEntityTooLarge", Message: fmt.Sprintf("The request body exceeds %d KiB", limit>>10)}}
		}
		var out any
		if err == nil {
			out, err = h(r, body)
		}
		if err != nil {
			e := s.translate(r, err)
			writeError(w, e)
			return
		}
		if out == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		b, _ := json.Marshal(out)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append(b, '\n'))
	}
}

// hostHandler runs one request of an authenticated host.
type hostHandler func(r *http.Request, host model.Host, body []byte) (any, error)

// authenticated admits a request with a verified host certificate of a host
// still in the registry.
func (s *Server) authenticated(h hostHandler) handler {
	return func(r *http.Request, body []byte) (any, error) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			return nil, &Error{Status: http.StatusUnauthorized, ErrorDetail: ErrorDetail{Code: CodeNoCertificate,
				Message: "This call needs the host's certificate (mutual TLS): enrol the host first with `strait agent --token`"}}
		}
		host, err := s.reg.Authenticate(r.Context(), r.TLS.VerifiedChains[0][0])
		if err != nil {
			return nil, err
		}
		return h(r, host, body)
	}
}

func (s *Server) enrol(r *http.Request, body []byte) (any, error) {
	var req EnrolRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.BackboneAddress == "" {
		req.BackboneAddress = remoteIP(r)
	}
	h, certPEM, err := s.reg.Enrol(r.Context(), hosts.EnrolInput{Token: req.Token, CSRPEM: []byte(req.CSR), Zones: req.Zones,
		BackboneAddress: req.BackboneAddress, BackboneMethod: req.BackboneMethod, BackboneKey: req.BackboneKey, Version: req.Version})
	if err != nil {
		return nil, err
	}
	ca, err := s.reg.CA(r.Context())
	if err != nil {
		return nil, err
	}
	return EnrolResponse{HostID: h.ID, Certificate: string(certPEM), CA: string(ca.CertPEM),
		HeartbeatIntervalSeconds: s.reg.HeartbeatInterval().Seconds()}, nil
}

func (s *Server) heartbeat(r *http.Request, host model.Host, body []byte) (any, error) {
	var rep Report
	if err := decode(body, &rep); err != nil {
		return nil, err
	}
	if rep.BackboneAddress == "" {
		rep.BackboneAddress = remoteIP(r)
	}
	h, err := s.reg.Report(r.Context(), host.ID, hosts.Report{Zones: rep.Zones, BackboneAddress: rep.BackboneAddress,
		BackboneMethod: rep.BackboneMethod, BackboneKey: rep.BackboneKey, Version: rep.Version, State: rep.State})
	if err != nil {
		return nil, err
	}
	out := ReportResponse{HostID: h.ID, HeartbeatIntervalSeconds: s.reg.HeartbeatInterval().Seconds()}
	if s.replicas != nil {
		out.Servers = s.replicas(r.Context())
	}
	return out, nil
}

// leading is nil when this replica leads the region, else a NotLeader
// answer naming the leader.
func (s *Server) leading() error {
	if s.leader == nil {
		return nil
	}
	if ok, url := s.leader(); !ok {
		return notLeader(url)
	}
	return nil
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return host
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return &Error{Status: http.StatusBadRequest, ErrorDetail: ErrorDetail{Code: "InvalidParameterValue", Message: "The request body is not valid JSON: " + err.Error()}}
	}
	return nil
}

// reasonCodes are the codes of the registry's reasons.
var reasonCodes = map[model.Reason]string{
	model.ReasonJoinToken:   CodeInvalidJoinToken,
	model.ReasonZoneServed:  CodeZoneAlreadyServed,
	model.ReasonZone:        CodeInvalidZone,
	model.ReasonHostRemoved: CodeHostRemoved,
}

// sentinelStatus is the status and default code of each domain sentinel.
var sentinelStatus = []struct {
	err    error
	status int
	code   string
}{
	{model.ErrNotFound, http.StatusNotFound, "ResourceNotFound"},
	{model.ErrMissing, http.StatusBadRequest, "MissingParameter"},
	{model.ErrInvalid, http.StatusBadRequest, "InvalidParameterValue"},
	{model.ErrConflict, http.StatusConflict, "Conflict"},
	{model.ErrUnauthorized, http.StatusForbidden, "UnauthorizedOperation"},
}

// translate turns an error into what the agent sees; anything that is not a
// domain error is logged and answered as an opaque InternalError.
func (s *Server) translate(r *http.Request, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var de *model.Error
	if errors.As(err, &de) {
		for _, st := range sentinelStatus {
			if errors.Is(de, st.err) {
				code := st.code
				if c, ok := reasonCodes[de.Reason]; ok {
					code = c
				}
				return &Error{Status: st.status, ErrorDetail: ErrorDetail{Code: code, Message: de.Msg}}
			}
		}
	}
	s.log.Error("agent API request failed", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
	return &Error{Status: http.StatusInternalServerError, ErrorDetail: ErrorDetail{Code: "InternalError", Message: "An internal error has occurred; the server log has the details"}}
}

func writeError(w http.ResponseWriter, e *Error) {
	b, _ := json.Marshal(ErrorBody{Error: e.ErrorDetail})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(append(b, '\n'))
}
