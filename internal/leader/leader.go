// Package leader elects one leader among the `strait server` replicas that
// share an etcd cluster, for the work only one of them may do at a time (the
// reconciler, notification delivery).
//
// An Elector campaigns with an etcd election (package
// go.etcd.io/etcd/client/v3/concurrency): each candidate holds a key under
// Config.Key+"/", bound to its session's lease, and the candidate whose key was
// created first leads. Run runs the leader's work only while this replica
// leads: its context is cancelled the moment leadership is lost — the session's
// lease cannot be renewed (it expires within Config.TTL of this replica's
// loss of etcd), or the key is gone — and Run then campaigns again. A replica
// that dies without resigning is replaced once its lease expires (Config.TTL);
// one that resigns (Run's context ends) is replaced at once.
//
// Between a leader's loss of its lease in etcd and its noticing, another
// replica may already lead. The work's context therefore carries a fence
// (store.WithFence): every Store.Update under it commits only while this
// replica's election key still exists, so a deposed leader cannot settle a
// resource or deliver a notification twice.
package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"strait/internal/store"
)

// DefaultTTL is the session TTL when Config.TTL is 0: about how long a dead
// leader's leadership outlives it. When the dead leader's process was also
// the etcd cluster's leader (an embedded member), etcd first elects a new
// leader, which renews every lease as it takes over: the next replica then
// leads about 2.5 s after the TTL (measured by TestKilledLeader: 4.6 s with
// a TTL of 2 s, 5.4 s with 3 s, 7.9 s with 5 s). A shorter TTL makes a leader
// that stalls that long lose leadership (its fenced writes fail, and it
// campaigns again).
const DefaultTTL = 3 * time.Second

// Tunables.
const (
	requestTimeout = 5 * time.Second // bounds each etcd call of the election
	retryPause     = time.Second     // after a failed campaign (etcd unavailable)
)

// Config configures an Elector.
type Config struct {
	// Client is the etcd client (store.Store.Client()).
	Client *clientv3.Client
	// Key names the election: a full etcd key, without a trailing slash
	// (e.g. store.Prefix()+"leader"); the candidates' keys are under Key+"/".
	Key string
	// Name is what this replica campaigns with, shown as the leader by
	// Current: its name or URL.
	Name string
	// TTL is the session's lease TTL, in whole seconds (0: DefaultTTL; etcd
	// makes anything below 2 s 2 s).
	TTL time.Duration
	// Logger receives a line whenever this replica gains or loses leadership;
	// nil discards them.
	Logger *slog.Logger
}

// Elector campaigns for this replica. Use one per Run.
type Elector struct {
	cfg     Config
	log     *slog.Logger
	leading atomic.Bool
}

// New returns an Elector for cfg.
func New(cfg Config) *Elector {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	e := &Elector{cfg: cfg, log: cfg.Logger}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	return e
}

// Leading reports whether this replica leads now.
func (e *Elector) Leading() bool { return e.leading.Load() }

// Run campaigns until ctx ends and runs work each time this replica becomes
// leader, with a context that carries the leadership's fence (store.FenceFrom)
// and is cancelled when leadership is lost or ctx ends. work must return
// promptly once its context is done: only then does Run resign (so that no
// other replica's work starts while this one's runs) and campaign again. If
// work returns while still leading, Run resigns too and campaigns again. Run
// returns when ctx ends, after resigning.
func (e *Elector) Run(ctx context.Context, work func(ctx context.Context)) {
	for ctx.Err() == nil {
		err := e.term(ctx, work)
		if err != nil && ctx.Err() == nil {
			e.log.Warn("leader: campaign failed; trying again", "name", e.cfg.Name, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(retryPause):
			}
		}
	}
}

// term is one campaign: a session, an election won, the work run until
// leadership ends, a resignation.
func (e *Elector) term(ctx context.Context, work func(ctx context.Context)) error {
	cli := e.cfg.Client
	ttl := int64((e.cfg.TTL + time.Second - 1) / time.Second)
	gctx, cancel := context.WithTimeout(ctx, requestTimeout)
	grant, err := cli.Grant(gctx, ttl)
	cancel()
	if err != nil {
		return fmt.Errorf("grant a lease: %w", err)
	}
	// The session outlives ctx so that closing it still revokes the lease.
	sess, err := concurrency.NewSession(cli, concurrency.WithLease(grant.ID), concurrency.WithTTL(int(ttl)), concurrency.WithContext(context.WithoutCancel(ctx)))
	if err != nil {
		return fmt.Errorf("start a session: %w", err)
	}
	defer sess.Close() // revokes the lease: any key of this session is gone

	el := concurrency.NewElection(sess, e.cfg.Key)
	cctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(sess.Ctx(), cancel)
	err = el.Campaign(cctx, e.cfg.Name)
	stop()
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("campaign: %w", err)
	}
	// Campaign also returns when this session's key was deleted while it
	// waited (its lease expired): lead only if the key is still there.
	if err := e.check(ctx, el); err != nil {
		return err
	}
	fence := store.Fence{Key: el.Key(), Rev: el.Rev()}
	lctx, lose := context.WithCancel(store.WithFence(ctx, fence))
	defer lose()
	e.leading.Store(true)
	e.log.Info("leader: this replica leads", "name", e.cfg.Name, "fence", fence.String())

	done := make(chan struct{})
	go func() {
		defer close(done)
		work(lctx)
	}()
	gone := make(chan struct{})
	go watchKey(lctx, cli, fence, gone)
	why := ""
	select {
	case <-ctx.Done():
		why = "resigning"
	case <-sess.Done():
		why = "its etcd session ended (lease not renewed within its TTL)"
	case <-gone:
		why = "its election key was deleted"
	case <-done:
		why = "the leader's work returned"
	}
	lose()
	<-done
	e.leading.Store(false)
	e.log.Info("leader: this replica no longer leads", "name", e.cfg.Name, "why", why)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
	defer cancel()
	if err := el.Resign(rctx); err != nil {
		// The lease's revocation (sess.Close), or its expiry, deletes the
		// key too.
		e.log.Debug("leader: resign failed", "name", e.cfg.Name, "err", err)
	}
	return nil
}

// check verifies that the election's key still exists as created by the
// campaign.
func (e *Elector) check(ctx context.Context, el *concurrency.Election) error {
	gctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := e.cfg.Client.Get(gctx, el.Key())
	if err != nil {
		return fmt.Errorf("check the election key: %w", err)
	}
	if len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != el.Rev() {
		return errors.New("the election key expired during the campaign")
	}
	return nil
}

// watchKey closes gone when the fence's key is deleted (or replaced). It ends
// with ctx.
func watchKey(ctx context.Context, cli *clientv3.Client, f store.Fence, gone chan<- struct{}) {
	rev := f.Rev
	for ctx.Err() == nil {
		for wr := range cli.Watch(clientv3.WithRequireLeader(ctx), f.Key, clientv3.WithRev(rev+1)) {
			if wr.Err() != nil {
				break
			}
			for _, ev := range wr.Events {
				if ev.Type == mvccpb.DELETE || ev.Kv.CreateRevision != f.Rev {
					close(gone)
					return
				}
			}
			rev = wr.Header.Revision
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(retryPause / 10):
		}
		// The watch ended (no etcd leader for now, or its revision was
		// compacted): look at the key, then watch again from there.
		gctx, cancel := context.WithTimeout(ctx, requestTimeout)
		resp, err := cli.Get(gctx, f.Key)
		cancel()
		switch {
		case err != nil:
			continue
		case len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != f.Rev:
			close(gone)
			return
		}
		rev = resp.Header.Revision
	}
}

// Current returns the name the current leader campaigned with ("" when no
// replica leads) of the election at key (Config.Key).
func Current(ctx context.Context, cli *clientv3.Client, key string) (string, error) {
	gctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := cli.Get(gctx, key+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", fmt.Errorf("leader: who leads: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// Candidates returns the names every replica campaigning in the election at
// key (Config.Key) campaigned with, the leader first: the replicas alive now
// (a dead one's key goes with its lease).
func Candidates(ctx context.Context, cli *clientv3.Client, key string) ([]string, error) {
	gctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := cli.Get(gctx, key+"/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		return nil, fmt.Errorf("leader: the candidates: %w", err)
	}
	out := make([]string, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out = append(out, string(kv.Value))
	}
	return out, nil
}

// Leader is the candidate that leads an election: the name it campaigned
// with and the lease its key is bound to.
type Leader struct {
	Name  string
	Lease clientv3.LeaseID
}

// CurrentLeader returns who leads the election at key (Config.Key); ok is
// false when no replica leads.
func CurrentLeader(ctx context.Context, cli *clientv3.Client, key string) (l Leader, ok bool, err error) {
	gctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := cli.Get(gctx, key+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return Leader{}, false, fmt.Errorf("leader: who leads: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return Leader{}, false, nil
	}
	return Leader{Name: string(resp.Kvs[0].Value), Lease: clientv3.LeaseID(resp.Kvs[0].Lease)}, true, nil
}

// Depose ends l's leadership if its lease has not been kept alive for a
// while (at most a second of its TTL left: a live leader renews it every
// third of its TTL): the lease is revoked, so its key goes and the next
// candidate leads at once instead of when the lease expires. For a leader
// that looks dead (its process refuses connections); the lease check keeps a
// live one that merely refuses probes from being deposed. It reports whether
// it deposed l.
func Depose(ctx context.Context, cli *clientv3.Client, l Leader) (bool, error) {
	if l.Lease == 0 {
		return false, nil
	}
	gctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	ttl, err := cli.TimeToLive(gctx, l.Lease)
	if err != nil {
		return false, fmt.Errorf("leader: the lease of %s: %w", l.Name, err)
	}
	if ttl.TTL <= 0 || ttl.TTL > 1 {
		return false, nil // gone already, or kept alive
	}
	if _, err := cli.Revoke(gctx, l.Lease); err != nil {
		return false, fmt.Errorf("leader: revoking the lease of %s: %w", l.Name, err)
	}
	return true, nil
}
