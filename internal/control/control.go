// Package control holds Strait's operations — CreateVpc, CreateLoadBalancer,
// CreateVpcEndpoint, AcceptVpcEndpointConnections and the rest. Each operation checks
// its input and the caller's ownership, allocates IDs and addresses, and commits its
// whole effect in one store transaction. Both API adapters (AWS Query and native JSON)
// call these operations, so they cannot drift apart.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
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

// Control runs operations against the store.
type Control struct {
	st     *store.Store
	cfg    Config
	azs    []model.AvailabilityZone
	log    *slog.Logger
	now    func() time.Time
	mu     sync.Mutex // serializes this process's mutations; the store's STM guards the rest
	events chan struct{}

	resolverMu sync.Mutex
	resolver   string // overrides cfg.Resolver when set (SetResolver)

	cacheMu sync.Mutex
	cache   *readCache // nil until StartCache
}

// New returns a Control over st.
func New(st *store.Store, cfg Config) *Control {
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
	c := &Control{st: st, cfg: cfg, log: cfg.Logger, now: cfg.Now, events: make(chan struct{}, 1)}
	c.azs = zonesOf(cfg.Region, cfg.Zones)
	return c
}

// Region is the region this control plane serves.
func (c *Control) Region() string { return c.cfg.Region }

// Domain is the DNS suffix of endpoint names.
func (c *Control) Domain() string { return c.cfg.Domain }

// Store returns the underlying store (for the reconciler and status writers).
func (c *Control) Store() *store.Store { return c.st }

// zonesOf names the availability zones of a region: us-east-1a … with zone IDs
// use1-az1 …, the same for every account.
func zonesOf(region string, n int) []model.AvailabilityZone {
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
func (c *Control) Zones() []model.AvailabilityZone { return c.azs }

func (c *Control) zone(name string) (model.AvailabilityZone, bool) {
	for _, z := range c.azs {
		if z.Name == name || z.ZoneID == name {
			return z, true
		}
	}
	return model.AvailabilityZone{}, false
}

// key is the store key of a resource.
func key(kind, id string) string { return kind + "/" + id }

// update runs fn as one transaction, serialized with this process's other mutations.
func (c *Control) update(ctx context.Context, fn func(tx *store.Tx) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.st.Update(ctx, fn); err != nil {
		return err
	}
	c.notify()
	return nil
}

// notify wakes whoever waits on Changed without blocking.
func (c *Control) notify() {
	select {
	case c.events <- struct{}{}:
	default:
	}
}

// Changed delivers a value after mutations (coalesced); the reconciler waits on it.
func (c *Control) Changed() <-chan struct{} { return c.events }

// get reads one resource of kind; a missing key is model.NotFound.
func get[T any](ctx context.Context, st *store.Store, kind, id string) (T, error) {
	var v T
	if err := st.Get(ctx, key(kind, id), &v); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return v, model.NotFound(kind, id)
		}
		return v, err
	}
	return v, nil
}

// getOwned reads one of the account's resources of kind: a malformed ID fails as
// model.CheckID says, and another account's resource is NotFound.
func getOwned[T any](ctx context.Context, st *store.Store, acct, kind, prefix, id string, ownerOf func(T) string) (T, error) {
	var zero T
	if err := model.CheckID(kind, prefix, id); err != nil {
		return zero, err
	}
	v, err := get[T](ctx, st, kind, id)
	if err == nil && ownerOf(v) != acct {
		return zero, model.NotFound(kind, id)
	}
	return v, err
}

// txGet reads one resource of kind inside a transaction.
func txGet[T any](tx *store.Tx, kind, id string) (T, error) {
	var v T
	ok, err := tx.Get(key(kind, id), &v)
	if err != nil {
		return v, err
	}
	if !ok {
		return v, model.NotFound(kind, id)
	}
	return v, nil
}

// list reads every resource of kind, in ID order.
func list[T any](ctx context.Context, st *store.Store, kind string) ([]T, error) {
	var out []T
	err := st.List(ctx, kind+"/", func(_ string, val []byte) error {
		var v T
		if err := json.Unmarshal(val, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// filterOwner keeps the resources of one account.
func filterOwner[T any](items []T, account string, ownerOf func(T) string) []T {
	out := items[:0]
	for _, it := range items {
		if ownerOf(it) == account {
			out = append(out, it)
		}
	}
	return out
}

// sortedKeys returns the keys of a map in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
