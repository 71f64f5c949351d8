package hostagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"time"

	"strait/internal/agent"
	"strait/internal/agentapi"
	"strait/internal/dataplane"
	"strait/internal/placement"
)

// ReportEvery is how often a host reports what it realized, besides after
// each apply.
const ReportEvery = 3 * time.Second

// Server is the server as a host's agent calls it (agentapi.Client).
type Server interface {
	State(ctx context.Context, after uint64) (agentapi.StateResponse, bool, error)
	Report(ctx context.Context, rep agentapi.StateReport) error
}

// Dataplane is the host's agent (agent.Agent).
type Dataplane interface {
	Apply(ctx context.Context, st agent.State) error
	Ready(id string) bool
	Present() []string
	Traffic() map[string]dataplane.Stats
}

// Serve watches the host's part from the server (from revision 0: after a
// restart the host takes its current part, and its agent re-adopts the
// namespaces it still has), applies each revision, and reports what it
// realized, its traffic and its view of target health (health, the proxy's
// reports; nil: none) after each apply and every ReportEvery, until ctx is
// done. A failed apply is retried at each report. Losing the server is
// logged and retried; the data plane keeps what it has meanwhile.
func Serve(ctx context.Context, srv Server, dp Dataplane, health *HealthView, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	epoch := fmt.Sprintf("%d-%d", time.Now().UnixNano(), os.Getpid())
	updates := make(chan agentapi.StateResponse, 1)
	go watch(ctx, srv, updates, log)
	tick := time.NewTicker(ReportEvery)
	defer tick.Stop()
	var (
		rev      uint64
		part     agent.State
		applyErr error
		reported = true // whether the last report went through (logged on change)
	)
	apply := func() {
		applyErr = dp.Apply(ctx, part)
		switch {
		case ctx.Err() != nil:
		case applyErr != nil:
			log.Warn("applying the host's part", "revision", rev, "err", applyErr)
		default:
			log.Info("applied the host's part", "revision", rev, "objects", len(placement.IDs(part)))
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case u := <-updates:
			rev, part = u.Revision, u.State
			apply()
		case <-tick.C:
			if rev != 0 && applyErr != nil {
				apply()
			}
		}
		if rev == 0 {
			continue
		}
		err := srv.Report(ctx, report(rev, part, dp, health, epoch))
		if ctx.Err() != nil {
			return nil
		}
		if (err == nil) != reported {
			if err != nil {
				log.Warn("cannot report to the server; retrying", "err", err)
			} else {
				log.Info("reporting the host's part to the server again", "revision", rev)
			}
			reported = err == nil
		}
	}
}

// report is what dp realized of part (revision rev).
func report(rev uint64, part agent.State, dp Dataplane, health *HealthView, epoch string) agentapi.StateReport {
	var ready []string
	for _, id := range placement.IDs(part) {
		if dp.Ready(id) && !slices.Contains(ready, id) {
			ready = append(ready, id)
		}
	}
	rep := agentapi.StateReport{Revision: rev, Ready: ready, Present: dp.Present(), Epoch: epoch, Traffic: dp.Traffic()}
	if health != nil {
		rep.Health = health.Snapshot(part)
	}
	return rep
}

// watch long-polls the host's part and hands the newest to updates (one
// waiting at most: a newer one replaces it), until ctx is done.
func watch(ctx context.Context, srv Server, updates chan agentapi.StateResponse, log *slog.Logger) {
	var after uint64
	failing := false
	for ctx.Err() == nil {
		u, ok, err := srv.State(ctx, after)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				log.Warn("cannot watch the host's part; retrying", "err", err)
			}
			failing = true
			var apiErr *agentapi.Error
			wait := time.Second
			if errors.As(err, &apiErr) && apiErr.Status < http.StatusInternalServerError {
				wait = ReportEvery // refused (removed host: the heartbeats end the agent)
			}
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			continue
		}
		if failing {
			log.Info("watching the host's part again", "after", after)
			failing = false
		}
		if !ok {
			continue
		}
		after = u.Revision
		select {
		case <-updates: // not applied yet: the newer one replaces it
		default:
		}
		updates <- u
	}
}
