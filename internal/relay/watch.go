package relay

import (
	"net/netip"
	"time"

	"strait/internal/dataplane"
)

// watch delivers the relay process's health reports until Close, and attaches
// to a new relay process when the one it had stops answering (it died: the
// new one gets the routing and listeners again).
func (c *Client) watch() {
	defer close(c.done)
	var since uint64
	for c.ctx.Err() == nil {
		var r HealthReply
		if err := c.call("Health", &HealthArgs{Since: since, Wait: healthWait}, &r); err != nil {
			if c.ctx.Err() != nil {
				return
			}
			c.log.Warn("relay process lost: attaching to a new one", "err", err)
			if c.reattach() {
				since = 0
			}
			continue
		}
		since = r.Next
		if c.cfg.Report != nil {
			for _, rep := range r.Reports {
				c.cfg.Report(rep.Group, rep.Target, rep.Health)
			}
		}
		if h := c.health.Load(); h != nil && len(r.Reports) > 0 {
			(*h)()
		}
	}
}

// reattach connects to the data directory's relay process, starting one when
// none answers, until it succeeds or the client closes; fresh says it is
// another process than before, which has been given the routing and the
// listeners again.
func (c *Client) reattach() (fresh bool) {
	c.mu.Lock()
	if c.rc != nil {
		c.rc.Close()
		c.rc = nil
	}
	c.mu.Unlock()
	backoff := 50 * time.Millisecond
	for c.ctx.Err() == nil {
		rc, hello, err := dial(c.cfg.DataDir)
		if err != nil {
			rc, hello, err = spawn(c.ctx, c.cfg.DataDir, c.cfg.Command)
		}
		if err != nil {
			c.log.Warn("relay process: cannot attach", "err", err, "retry_in", backoff)
			select {
			case <-c.ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		c.mu.Lock()
		if c.ctx.Err() != nil {
			c.mu.Unlock()
			rc.Close()
			return false
		}
		fresh = hello.ID != c.hello.ID
		c.rc, c.hello = rc, hello
		c.mu.Unlock()
		if fresh {
			c.log.Info("relay process replaced", "pid", hello.PID)
			c.replay()
		}
		return fresh
	}
	return false
}

// replay gives a new relay process the routing, the listeners and the
// resolvers the client gave the one before; a listener that cannot be opened
// again is dropped, for the agent to open again at its next pass.
func (c *Client) replay() {
	c.mu.Lock()
	routing := c.routing
	resolvers := make([]ResolverArgs, 0, len(c.resolvers))
	for _, r := range c.resolvers {
		resolvers = append(resolvers, r)
	}
	byVPC := map[string][]listenKey{}
	entries := map[listenKey]dataplane.Entry{}
	for k, e := range c.listening {
		byVPC[k.vpc] = append(byVPC[k.vpc], k)
		entries[k] = e
	}
	c.mu.Unlock()
	if routing != nil {
		c.Configure(*routing)
	}
	for _, r := range resolvers {
		if err := c.SetResolver(r.VPC, r.Addr, r.Records); err != nil {
			c.mu.Lock()
			delete(c.resolvers, r.VPC)
			c.mu.Unlock()
			c.log.Warn("relay: starting a resolver again", "err", err)
		}
	}
	for vpc, keys := range byVPC {
		addrs := make([]netip.AddrPort, len(keys))
		es := make([]dataplane.Entry, len(keys))
		for i, k := range keys {
			addrs[i], es[i] = k.addr, entries[k]
		}
		errs, err := c.Listen(vpc, addrs, es)
		c.mu.Lock()
		for i, k := range keys {
			if err != nil || errs[i] != nil {
				delete(c.listening, k)
			}
		}
		c.mu.Unlock()
		if err != nil {
			c.log.Warn("relay: opening the listeners again", "vpc", vpc, "err", err)
		}
		for i, e := range errs {
			if e != nil {
				c.log.Warn("relay: opening a listener again", "vpc", vpc, "addr", addrs[i], "err", e)
			}
		}
	}
}
