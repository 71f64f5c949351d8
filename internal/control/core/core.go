// Package core is what every family of operations shares: the region's
// configuration and zones, one-transaction mutations serialized within the
// process (Update), typed reads of store records, the read cache, client tokens
// and batch results. The families (network, elb, endpoints, published, …) build
// on it; it knows none of them.
package core

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"strait/internal/model"
	"strait/internal/store"
)

// Config sets the region the server answers for and the DNS domain of endpoint names.
type Config struct {
	Region string
	// Zones is how many availability zones the region has (default 3).
	Zones int
	// Domain is the suffix of endpoint DNS names (default "amazonaws.com").
	Domain string
	// Resolver is the DNS server (host:port) used to verify private DNS names; empty
	// means the system resolver.
	Resolver string
	Logger   *slog.Logger
	// Now returns the current time (tests may fix it).
	Now func() time.Time
}

// Base is the state the operations share: the store, the configuration, and the
// lock and signal of this process's mutations.
type Base struct {
	st     *store.Store
	cfg    Config
	azs    []model.AvailabilityZone
	mu     sync.Mutex // serializes this process's mutations; the store's STM guards the rest
	events chan struct{}

	cacheMu sync.Mutex
	cache   *readCache // nil until StartCache
}

// New returns a Base over st with cfg's defaults filled in.
func New(st *store.Store, cfg Config) *Base {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Zones <= 0 {
		cfg.Zones = 3
	}
	if cfg.Domain == "" {
		cfg.Domain = "amazonaws.com"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Base{st: st, cfg: cfg, azs: ZonesOf(cfg.Region, cfg.Zones), events: make(chan struct{}, 1)}
}

// Region is the region this control plane serves.
func (b *Base) Region() string { return b.cfg.Region }

// Domain is the DNS suffix of endpoint names.
func (b *Base) Domain() string { return b.cfg.Domain }

// Config is the configuration with its defaults filled in.
func (b *Base) Config() Config { return b.cfg }

// Store returns the underlying store.
func (b *Base) Store() *store.Store { return b.st }

// Now is the current time.
func (b *Base) Now() time.Time { return b.cfg.Now() }

// Log is the operations' logger.
func (b *Base) Log() *slog.Logger { return b.cfg.Logger }

// ZonesOf names the availability zones of a region: us-east-1a … with zone IDs
// use1-az1 …, the same for every account.
func ZonesOf(region string, n int) []model.AvailabilityZone {
	parts := strings.Split(region, "-")
	short := region
	if len(parts) == 3 && len(parts[0]) >= 2 && len(parts[1]) >= 1 {
		short = parts[0] + parts[1][:1] + parts[2]
	}
	zones := make([]model.AvailabilityZone, n)
	for i := range n {
		zones[i] = model.AvailabilityZone{
			Name:   fmt.Sprintf("%s%c", region, 'a'+i),
			ZoneID: fmt.Sprintf("%s-az%d", short, i+1),
			Region: region,
		}
	}
	return zones
}

// Zones returns the region's availability zones.
func (b *Base) Zones() []model.AvailabilityZone { return b.azs }

// Zone finds a zone of the region by name or zone ID.
func (b *Base) Zone(name string) (model.AvailabilityZone, bool) {
	for _, z := range b.azs {
		if z.Name == name || z.ZoneID == name {
			return z, true
		}
	}
	return model.AvailabilityZone{}, false
}

// Update runs fn as one transaction, serialized with this process's other
// mutations, and signals Changed when it commits.
func (b *Base) Update(ctx context.Context, fn func(tx *store.Tx) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.st.Update(ctx, fn); err != nil {
		return err
	}
	b.notify()
	return nil
}

// notify wakes whoever waits on Changed without blocking.
func (b *Base) notify() {
	select {
	case b.events <- struct{}{}:
	default:
	}
}

// Changed delivers a value after mutations (coalesced); the reconciler waits on it.
func (b *Base) Changed() <-chan struct{} { return b.events }
