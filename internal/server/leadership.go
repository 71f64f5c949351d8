package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"strait/internal/control"
	"strait/internal/dataplane"
	"strait/internal/fleet"
	"strait/internal/leader"
	"strait/internal/placement"
	"strait/internal/reconcile"
	"strait/internal/store"
)

// Leadership. The reconciler (and with it notification delivery and the
// fleet that serves agents their parts) runs on one replica at a time: on a
// server whose store is its own embedded single member, always on this one;
// with an external etcd or an embedded member of a cluster, on the replica
// that leads the etcd election (package leader). Each term builds a fresh
// fleet (its revisions start at the term's start, above every earlier
// term's) and reconciler, whose store writes are fenced by the term.

// replica is what a replica campaigns with (leader.Config.Name): its name
// and its agent listener, which agents learn from heartbeat answers and
// are sent to when this replica leads.
type replica struct {
	Name  string `json:"name"`
	Agent string `json:"agent,omitempty"`
}

func (r replica) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// parseReplica reads a candidate's name; ok is false for a name that is not
// a replica's JSON.
func parseReplica(s string) (replica, bool) {
	var r replica
	if json.Unmarshal([]byte(s), &r) != nil || r.Name == "" {
		return replica{}, false
	}
	return r, true
}

// sharedStore reports whether other replicas may share this server's store:
// an external etcd, or an embedded member of a cluster.
func sharedStore(cfg Config) bool { return len(cfg.EtcdEndpoints) > 0 || !cfg.EtcdMember.IsZero() }

// replicaName names this replica: its etcd member name, else host name and
// API address.
func replicaName(cfg Config, apiAddr string) string {
	if cfg.EtcdMember.Name != "" {
		return cfg.EtcdMember.Name
	}
	h, _ := os.Hostname()
	return h + "/" + apiAddr
}

// agentURL is the URL other hosts reach the agent listener at addr by: the
// first --agent-advertise, else the listen host when it is one address, else
// the host name.
func agentURL(cfg Config, addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if len(cfg.AgentAdvertise) > 0 {
		return "https://" + net.JoinHostPort(cfg.AgentAdvertise[0], port)
	}
	if a, err := netip.ParseAddr(host); err == nil && !a.IsUnspecified() {
		return "https://" + net.JoinHostPort(host, port)
	}
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return "https://" + net.JoinHostPort(h, port)
}

// terms runs the reconciler a term at a time.
type terms struct {
	ctl    *control.Control
	recCfg reconcile.Config // without Dataplane
	// local is the in-process agent (nil with --dataplane none); fleetCfg,
	// when the server has an agent listener, makes each term's fleet over it
	// (RevisionBase set per term).
	local    fleet.Local
	fleetCfg *fleet.Config
	health   *healthRecorder

	// shared: other replicas may lead between this one's terms.
	shared bool
	runs   int // terms run so far

	current atomic.Pointer[term] // while this replica leads
	once    sync.Once
	ready   chan struct{} // closed when the first term realized the stored state
}

// term is the fleet of a running term and the term's context.
type term struct {
	fleet *fleet.Fleet
	ctx   context.Context
}

// run is one term, until ctx ends.
func (t *terms) run(ctx context.Context) {
	cfg := t.recCfg
	if t.local != nil {
		cfg.Dataplane = t.local
	}
	// Traffic an earlier term of this process or another replica recorded
	// is not counted again (what grew in the last seconds before a leader
	// died is lost instead).
	cfg.TrafficFromBaseline = t.runs > 0
	t.runs++
	var fl *fleet.Fleet
	if t.fleetCfg != nil {
		fc := *t.fleetCfg
		fc.RevisionBase = revisionBase()
		fc.TrafficFromBaselines = t.shared
		fl = fleet.New(fc)
		t.health.fleet.Store(fl)
		t.current.Store(&term{fleet: fl, ctx: ctx})
		cfg.Dataplane, cfg.Wake = fl, fl.Reported()
		defer func() {
			t.current.Store(nil)
			t.health.fleet.Store(nil)
		}()
	}
	rec := reconcile.New(t.ctl, cfg)
	go func() {
		select {
		case <-rec.Realized():
			t.once.Do(func() { close(t.ready) })
		case <-ctx.Done():
		}
	}()
	rec.Run(ctx)
}

// Watch and Report make terms the agent listener's Fleet: the current term's
// fleet. A watch ends with its term (the agent then hears NotLeader and
// moves on); between terms there is nothing to watch and reports are
// dropped (Leading says so first).
func (t *terms) Watch(ctx context.Context, host string, after uint64) <-chan placement.Update {
	if cur := t.current.Load(); cur != nil {
		wctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(cur.ctx, cancel)
		in := cur.fleet.Watch(wctx, host, after)
		out := make(chan placement.Update)
		go func() {
			defer close(out)
			defer cancel()
			defer stop()
			for u := range in {
				select {
				case out <- u:
				case <-wctx.Done():
					return
				}
			}
		}()
		return out
	}
	ch := make(chan placement.Update)
	close(ch)
	return ch
}

func (t *terms) Report(host string, rep placement.Report, epoch string, traffic map[string]dataplane.Stats, health []placement.TargetHealth) {
	if cur := t.current.Load(); cur != nil {
		cur.fleet.Report(host, rep, epoch, traffic, health)
	}
}

// serving reports whether a term runs with a fleet to serve agents from.
func (t *terms) serving() bool { return t.current.Load() != nil }

// leadership runs the terms: without a shared store, one term until ctx
// ends; with one, a term whenever this replica leads the election.
type leadership struct {
	st   *store.Store
	self replica
	el   *leader.Elector // nil: no election (the store is this server's own)
	key  string
}

func newLeadership(st *store.Store, shared bool, self replica, log *slog.Logger) *leadership {
	l := &leadership{st: st, self: self, key: st.Prefix() + "leader"}
	if shared {
		l.el = leader.New(leader.Config{Client: st.Client(), Key: l.key, Name: self.String(), Logger: log})
	}
	return l
}

// run runs work's terms until ctx ends.
func (l *leadership) run(ctx context.Context, work func(context.Context)) {
	if l.el == nil {
		work(ctx)
		return
	}
	l.el.Run(ctx, work)
}

// leading reports whether this replica leads and, if not, the leader's agent
// listener ("" when unknown): agentapi.ServerConfig.Leader.
func (l *leadership) leading() (bool, string) {
	if l.el == nil || l.el.Leading() {
		return true, ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	name, err := leader.Current(ctx, l.st.Client(), l.key)
	if err != nil {
		return false, ""
	}
	r, _ := parseReplica(name)
	return false, r.Agent
}

// other reports whether another replica leads now.
func (l *leadership) other(ctx context.Context) bool {
	if l.el == nil || l.el.Leading() {
		return false
	}
	name, err := leader.Current(ctx, l.st.Client(), l.key)
	r, ok := parseReplica(name)
	return err == nil && ok && r.Name != l.self.Name
}

// replicas lists the agent listeners of the replicas alive now, the leader's
// first: agentapi.ServerConfig.Replicas.
func (l *leadership) replicas(ctx context.Context) []string {
	if l.el == nil {
		return nil
	}
	names, err := leader.Candidates(ctx, l.st.Client(), l.key)
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range names {
		if r, ok := parseReplica(n); ok && r.Agent != "" {
			out = append(out, r.Agent)
		}
	}
	return out
}

// state names this replica's part for logs and healthz: "leader" or
// "follower of NAME".
func (l *leadership) state(ctx context.Context) string {
	if l.el == nil || l.el.Leading() {
		return "leader"
	}
	name, err := leader.Current(ctx, l.st.Client(), l.key)
	if err != nil {
		return "follower (the leader is not known: " + err.Error() + ")"
	}
	if r, ok := parseReplica(name); ok {
		return "follower of " + r.Name
	}
	return "follower of " + strconv.Quote(name)
}

// Probing the leader. A leader that dies is replaced when its lease expires
// (leader.DefaultTTL, longer when etcd elects a leader of its own first). A
// replica that does not lead probes the leader's agent listener, and when
// its machine refuses the connection (nothing listens: the process is gone)
// probeRefusals times in a row, deposes it (leader.Depose) — only once its
// lease has not been kept alive for a while, so that a live leader whose
// listener refuses probes (a firewall's REJECT) keeps leading. A probe that
// times out or fails otherwise deposes no one.
const (
	probeEvery    = 250 * time.Millisecond
	probeRefusals = 3
)

// watchLeader probes the leader while this replica does not lead, until ctx
// ends.
func (l *leadership) watchLeader(ctx context.Context, log *slog.Logger) {
	if l.el == nil {
		return
	}
	refused, warned := 0, false
	var last leader.Leader
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(probeEvery):
		}
		if l.el.Leading() {
			refused = 0
			continue
		}
		cur, ok, err := leader.CurrentLeader(ctx, l.st.Client(), l.key)
		r, isReplica := parseReplica(cur.Name)
		if err != nil || !ok || !isReplica || r.Agent == "" || r.Name == l.self.Name {
			refused = 0
			continue
		}
		if cur.Lease != last.Lease {
			refused, last, warned = 0, cur, false
		}
		if !processGone(ctx, r.Agent) {
			refused = 0
			continue
		}
		if refused++; refused < probeRefusals {
			continue
		}
		if ok, err := leader.Depose(ctx, l.st.Client(), cur); err != nil {
			if ctx.Err() == nil && !warned {
				log.Warn("leader: cannot depose the leader whose agent listener refuses connections (its lease expires instead)", "leader", r.Name, "err", err)
			}
			warned = true
		} else if ok {
			refused = 0
			log.Warn("leader: deposed the leader: its agent listener refuses connections and its lease is not kept alive (its process is gone)", "leader", r.Name, "agent", r.Agent)
		}
	}
}

// processGone reports whether the machine at agentURL refuses a TCP
// connection to its port: nothing listens there.
func processGone(ctx context.Context, agentURL string) bool {
	u, err := url.Parse(agentURL)
	if err != nil || u.Host == "" {
		return false
	}
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", u.Host)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}
