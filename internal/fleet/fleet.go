// Package fleet is the region's data plane as the reconciler sees it when
// other hosts serve zones: it splits each desired state per host by zone
// (placement.Split), applies the local part with the server's in-process agent
// and publishes each remote host's part under a revision for that host's agent
// to watch; it reads the hosts' reports back as one status.Realized and adds
// up their traffic.
//
// Without a remote host it is the local agent: the state goes to it whole and
// Ready, Removed and Traffic are the agent's own.
package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"sync"

	"strait/internal/agent"
	"strait/internal/agent/backbone"
	"strait/internal/dataplane"
	"strait/internal/model"
	"strait/internal/placement"
)

// LocalID names the server's in-process agent among the hosts.
const LocalID = "local"

// Local is the server's in-process agent.
type Local interface {
	Apply(ctx context.Context, st agent.State) error
	Ready(id string) bool
	Removed(id string) bool
	Traffic() map[string]dataplane.Stats
}

// Remote is a host of the registry: the zones it serves, whether it reports
// (a host that missed its heartbeats is not reachable) and how it joins the
// backbone (its address, method and public key, as its agent reported them).
type Remote struct {
	ID              string
	Zones           []string
	Reachable       bool
	BackboneAddress netip.Addr
	BackboneMethod  string
	BackboneKey     backbone.Key
	// Transit is the host's own transit address (model.Host.TransitIP): its
	// part's HostTransit, and its peers' backbone.Peer.Transit.
	Transit netip.Addr
}

// Config is what a Fleet works with.
type Config struct {
	// Local applies the parts of the zones no remote host serves.
	Local Local
	// Hosts lists the region's remote hosts (the host registry).
	Hosts func(ctx context.Context) ([]Remote, error)
	// RevisionBase is the publisher's base revision (placement.NewPublisher):
	// above every revision an earlier server handed out.
	RevisionBase uint64
	// RecordHealth records a target's health as the hosts' views combine
	// (placement.Health); nil: not recorded.
	RecordHealth func(placement.TargetHealth)
	// PairSecret returns the region's backbone pair secret, from which each
	// pair of hosts gets its preshared key (backbone.PairKey); read at each
	// Apply with peers (the registry keeps it in memory). Nil: hosts get no
	// backbone peers.
	PairSecret func(ctx context.Context) ([]byte, error)
	// LocalBackbone is the in-process agent's place on the backbone (its
	// address, method and public key; ID and Zones are not used): it is the
	// remote hosts' peer LocalID and gets them as its peers. Nil: it does not
	// join the backbone.
	LocalBackbone *Remote
	// TrafficFromBaselines takes each host's first traffic counters as a
	// baseline (placement.NewTrafficFromBaselines): for a replica that takes
	// over from another leader, which recorded the traffic up to then.
	TrafficFromBaselines bool
	Logger               *slog.Logger
}

// Fleet applies desired states across the local agent and the remote hosts.
// It implements the reconciler's Dataplane and TrafficCounter. Safe for
// concurrent use.
type Fleet struct {
	local   Local
	hosts   func(ctx context.Context) ([]Remote, error)
	pub     *placement.Publisher
	traffic *placement.Traffic
	// healthMu serializes changes to health and their recording.
	healthMu sync.Mutex
	health   *placement.Health
	record   func(placement.TargetHealth)
	log      *slog.Logger

	pairSecret func(ctx context.Context) ([]byte, error)
	localBB    *Remote // with ID LocalID; nil: the in-process agent is off the backbone

	mu       sync.Mutex
	remotes  []Remote                    // as of the last Apply; nil: the local agent alone
	parts    map[string]agent.State      // as of the last Apply with remotes
	reports  map[string]placement.Report // host → its latest report
	realized placement.Realized          // parts and reports combined
	skipped  map[string]string           // hosts and pairs left off the backbone, as last logged

	reported chan struct{} // a value after a host's report changed what it realized (Reported)
}

// New returns a fleet over cfg.Local and the hosts cfg.Hosts lists.
func New(cfg Config) *Fleet {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	traffic := placement.NewTraffic()
	if cfg.TrafficFromBaselines {
		traffic = placement.NewTrafficFromBaselines()
	}
	return &Fleet{local: cfg.Local, hosts: cfg.Hosts, pub: placement.NewPublisher(cfg.RevisionBase),
		traffic: traffic, health: placement.NewHealth(), record: cfg.RecordHealth, log: cfg.Logger,
		reports: map[string]placement.Report{}, pairSecret: cfg.PairSecret, localBB: localBackbone(cfg.LocalBackbone),
		reported: make(chan struct{}, 1)}
}

// localBackbone is the in-process agent as a backbone member (nil: none).
func localBackbone(r *Remote) *Remote {
	if r == nil {
		return nil
	}
	l := *r
	l.ID, l.Zones, l.Reachable, l.Transit = LocalID, nil, true, model.TransitLocalHost
	return &l
}

// Apply splits st over the hosts, adds to each remote host's part its backbone
// peers, publishes the remote hosts' parts and applies the local part. Without
// remote hosts the local agent applies st itself. When
// the host list cannot be read, the hosts of the last Apply stand.
func (f *Fleet) Apply(ctx context.Context, st agent.State) error {
	remotes, err := f.hosts(ctx)
	f.mu.Lock()
	if err != nil {
		remotes = f.remotes
		err = fmt.Errorf("listing the region's hosts: %w", err)
	}
	f.forgetGone(remotes)
	known, unreachable := []string{LocalID}, []string(nil)
	for _, r := range remotes {
		known = append(known, r.ID)
		if !r.Reachable {
			unreachable = append(unreachable, r.ID)
		}
	}
	// The hosts' health views: only the region's hosts, the reachable ones
	// counting, and of the in-process agent's only the targets it still
	// checks (it reports changes, never that it stopped checking).
	changed := func(local agent.State) func() []placement.TargetHealth {
		return func() []placement.TargetHealth {
			return append(f.health.SetHosts(known, unreachable), f.health.Retain(LocalID, placement.Registered(local))...)
		}
	}
	if len(remotes) == 0 {
		f.remotes, f.parts = nil, nil
		f.realized = placement.Realized{}
		f.mu.Unlock()
		f.updateHealth(changed(st))
		return joinErr(err, f.local.Apply(ctx, st))
	}
	hs := []placement.Host{{ID: LocalID, Local: true}}
	for _, r := range remotes {
		hs = append(hs, placement.Host{ID: r.ID, Zones: r.Zones})
	}
	parts := placement.Split(st, hs)
	members := remotes
	if f.localBB != nil {
		members = append([]Remote{*f.localBB}, remotes...)
	}
	peers, perr := f.backbonePeers(ctx, members)
	err = joinErr(err, perr)
	for _, m := range members {
		if p := peers[m.ID]; p != nil {
			part := parts[m.ID]
			part.Peers, part.HostTransit = p, m.Transit
			parts[m.ID] = part
		}
	}
	for _, r := range remotes {
		if rev, changed := f.pub.Set(r.ID, parts[r.ID]); changed {
			f.log.Debug("host part published", "host", r.ID, "revision", rev)
		}
	}
	f.remotes, f.parts = remotes, parts
	f.combine()
	local := parts[LocalID]
	f.mu.Unlock()
	f.updateHealth(changed(local))
	return joinErr(err, f.local.Apply(ctx, local))
}

// forgetGone drops the parts, reports and traffic of hosts no longer in the
// registry (removed): their watches end. The caller holds f.mu.
func (f *Fleet) forgetGone(remotes []Remote) {
	for _, old := range f.remotes {
		if !slices.ContainsFunc(remotes, func(r Remote) bool { return r.ID == old.ID }) {
			f.pub.Forget(old.ID)
			f.traffic.Forget(old.ID)
			delete(f.reports, old.ID)
		}
	}
}

// combine rebuilds what the hosts realized from the parts and the latest
// reports. The caller holds f.mu.
func (f *Fleet) combine() {
	hosts := map[string]placement.HostRealized{LocalID: {Realizer: f.local, Current: true, Reachable: true}}
	for _, r := range f.remotes {
		hr := placement.HostRealized{Reachable: r.Reachable}
		if rep, ok := f.reports[r.ID]; ok {
			hr.Realizer = rep
			hr.Current = rep.Revision == f.pub.Revision(r.ID)
		}
		hosts[r.ID] = hr
	}
	f.realized = placement.NewRealized(f.parts, hosts)
}

// Watch delivers host's part when its revision is above after, then each newer
// one, until ctx is done or the host leaves the region (placement.Publisher).
func (f *Fleet) Watch(ctx context.Context, host string, after uint64) <-chan placement.Update {
	return f.pub.Watch(ctx, host, after)
}

// Report takes a remote host's report about the part of rep.Revision, its
// traffic counters, counted since its agent process started (epoch), and its
// view of target health.
func (f *Fleet) Report(host string, rep placement.Report, epoch string, traffic map[string]dataplane.Stats, health []placement.TargetHealth) {
	f.mu.Lock()
	if !slices.ContainsFunc(f.remotes, func(r Remote) bool { return r.ID == host }) {
		// Not a host of the last Apply: removed since it was authenticated
		// (or enrolled since, and reporting again in a moment).
		f.mu.Unlock()
		return
	}
	f.traffic.Update(host, epoch, traffic)
	changed := !reflect.DeepEqual(f.reports[host], rep)
	f.reports[host] = rep
	f.combine()
	f.mu.Unlock()
	if changed {
		select {
		case f.reported <- struct{}{}:
		default:
		}
	}
	f.updateHealth(func() []placement.TargetHealth { return f.health.Replace(host, health) })
}

// Reported delivers a value after a host's report changed what it realized
// (coalesced), so that the reconciler settles states without waiting for its
// next tick.
func (f *Fleet) Reported() <-chan struct{} { return f.reported }

// LocalHealth takes a change of target health the in-process agent saw (its
// proxy's dataplane.HealthReport).
func (f *Fleet) LocalHealth(group string, t dataplane.Target, h model.TargetHealth) {
	f.updateHealth(func() []placement.TargetHealth {
		return f.health.Set(LocalID, placement.HealthOf(group, t, h))
	})
}

// updateHealth makes a change to the hosts' views of target health and
// records the combined health that changed, one change at a time, so that
// what is recorded last is the newest.
func (f *Fleet) updateHealth(change func() []placement.TargetHealth) {
	f.healthMu.Lock()
	defer f.healthMu.Unlock()
	for _, c := range change() {
		if f.record != nil {
			f.record(c)
		}
	}
}

// Ready implements status.Realized: the local agent's alone, or every host
// whose part has id reports it ready about its current part.
func (f *Fleet) Ready(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.remotes == nil {
		return f.local.Ready(id)
	}
	return f.realized.Ready(id)
}

// Removed implements status.Realized: the local agent's alone, or no reachable
// host has anything of id left.
func (f *Fleet) Removed(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.remotes == nil {
		return f.local.Removed(id)
	}
	return f.realized.Removed(id)
}

// Traffic implements the reconciler's TrafficCounter: the local agent's
// counters alone, or running totals over the local agent and the hosts'
// reports.
func (f *Fleet) Traffic() map[string]dataplane.Stats {
	local := f.local.Traffic()
	f.mu.Lock()
	alone := f.remotes == nil
	f.mu.Unlock()
	if alone {
		return local
	}
	f.traffic.Update(LocalID, LocalID, local)
	return f.traffic.Traffic()
}

func joinErr(a, b error) error {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return fmt.Errorf("%w; %w", a, b)
}
