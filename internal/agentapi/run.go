package agentapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"strait/internal/agent/backbone"
)

// AgentConfig is what `strait agent` takes.
type AgentConfig struct {
	// Server is the server's agent listener (see ServerURL), or several
	// replicas' listeners, comma-separated (ServerURLs).
	Server string
	// Token is the join token; needed only until the host is enrolled.
	Token string
	// DataDir keeps the host's credentials.
	DataDir string
	Zones   []string
	// BackboneAddress is the address other hosts reach this one on (empty: the
	// address the server sees the agent's connections come from).
	BackboneAddress string
	// BackboneMethod and BackboneKey are how the host joins the backbone
	// (backbone.Method) and its public key, reported at enrolment and with
	// each heartbeat; "" and zero: it does not join.
	BackboneMethod string
	BackboneKey    backbone.Key
	Version        string
	// RenewBefore is how long before its certificate expires the host renews
	// it (0: in the last third of its lifetime).
	RenewBefore time.Duration
	// Serve runs the host's data plane with the enrolled client, alongside the
	// heartbeats, until ctx is done (nil: heartbeats only). Its error ends Run.
	Serve  func(ctx context.Context, c *Client) error
	Logger *slog.Logger
}

// Run enrols the host unless its data directory already holds its
// credentials, then reports to the server at the interval the server asks for
// until ctx is done, renewing the host's certificate when it is due
// (RenewDue). Losing the server is logged and retried; an answer that
// refuses the host (removed, zones taken) ends Run with that error.
func Run(ctx context.Context, cfg AgentConfig) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	servers, err := ServerURLs(cfg.Server)
	if err != nil {
		return err
	}
	id, ok, err := LoadIdentity(cfg.DataDir)
	if err != nil {
		return err
	}
	// The first report goes at once after a restart (the host is back); after
	// an enrolment, which counts as a report, one interval later.
	wait, interval := time.Duration(0), defaultInterval
	switch {
	case ok:
		if cfg.Token != "" {
			log.Info("already enrolled: the join token is not used", "host", id.HostID, "data_dir", cfg.DataDir)
		}
		if !slices.Contains(servers, id.Server) {
			log.Info("reaching the server at a new address", "enrolled_with", id.Server, "server", servers)
		}
		// The servers given first, then those the host learnt before.
		id.Servers = slices.DeleteFunc(append(slices.Clone(servers), id.Servers...), func(s string) bool { return s == "" })
		id.Server = servers[0]
	case cfg.Token == "":
		return fmt.Errorf("this host is not enrolled (%s holds no credentials): give a join token, --token (from `strait host token create` on the server)", cfg.DataDir)
	default:
		var resp EnrolResponse
		for i, serverURL := range servers {
			id, resp, err = Enrol(ctx, cfg.DataDir, serverURL, cfg.Token, EnrolRequest{Zones: cfg.Zones, BackboneAddress: cfg.BackboneAddress,
				BackboneMethod: cfg.BackboneMethod, BackboneKey: keyText(cfg.BackboneKey), Version: cfg.Version})
			var apiErr *Error
			if err == nil || errors.As(err, &apiErr) || ctx.Err() != nil || i == len(servers)-1 {
				break
			}
			log.Warn("cannot enrol with this server; trying the next", "server", serverURL, "err", err)
		}
		if err != nil {
			return fmt.Errorf("enrolling with %s: %w", strings.Join(servers, ", "), err)
		}
		id.Servers = servers
		interval = seconds(resp.HeartbeatIntervalSeconds)
		wait = interval
		log.Info("enrolled", "host", id.HostID, "server", id.Server, "zones", cfg.Zones, "data_dir", cfg.DataDir)
	}
	c := NewClient(id, cfg.DataDir)
	defer c.Close()
	served := make(chan error, 1)
	if cfg.Serve != nil {
		serveCtx, stop := context.WithCancel(ctx)
		go func() { served <- cfg.Serve(serveCtx, c) }()
		defer func() { stop(); <-served }()
	}
	rep := Report{Zones: cfg.Zones, BackboneAddress: cfg.BackboneAddress, BackboneMethod: cfg.BackboneMethod,
		BackboneKey: keyText(cfg.BackboneKey), Version: cfg.Version, State: "running"}
	reachable, first := true, true
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-served:
			served <- err // for the deferred wait
			return err
		case <-time.After(wait):
		}
		wait = interval
		if notBefore, notAfter := c.NotAfter(); RenewDue(notBefore, notAfter, time.Now(), cfg.RenewBefore) {
			if until, err := c.Renew(ctx); err != nil {
				log.Warn("cannot renew the host's certificate; retrying with the next report", "expires", notAfter, "err", err)
			} else {
				log.Info("renewed the host's certificate", "host", id.HostID, "expires", until)
			}
		}
		resp, err := c.Heartbeat(ctx, rep)
		var apiErr *Error
		switch {
		case errors.As(err, &apiErr) && apiErr.Status < http.StatusInternalServerError:
			return fmt.Errorf("the server refused host %s: %w", id.HostID, err)
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			if reachable {
				log.Warn("cannot report to the server; retrying", "servers", c.Servers(), "err", err)
			}
			reachable = false
		default:
			if !reachable || first {
				log.Info("reporting to the server", "host", id.HostID, "server", c.server())
			}
			if c.learn(resp.Servers) {
				log.Info("server replicas", "servers", c.Servers())
				if err := c.saveServers(); err != nil {
					log.Warn("cannot keep the server replicas in the data directory", "err", err)
				}
			}
			first = false
			reachable = true
			interval = seconds(resp.HeartbeatIntervalSeconds)
			wait = interval
		}
	}
}

// defaultInterval is the heartbeat interval until the server names one.
const defaultInterval = 3 * time.Second

// seconds is a heartbeat interval from the server (at least a second).
func seconds(s float64) time.Duration {
	d := time.Duration(s * float64(time.Second))
	if d < time.Second {
		d = time.Second
	}
	return d
}

// keyText is a public key as reported: base64, "" for none.
func keyText(k backbone.Key) string {
	if k.IsZero() {
		return ""
	}
	return k.String()
}
