package relay

import (
	"errors"
	"net/netip"
	"net/rpc"
	"time"

	"strait/internal/dataplane"
)

// watch delivers the relay process's health reports until Close, and attaches
// to a new relay process when the one it had stops answering (it died: the
// new one gets the routing, listeners and resolvers again). Failures in a row
// wait longer and longer before the next try.
func (c *Client) watch() {
	defer close(c.done)
	var since uint64
	failures := 0
	for c.ctx.Err() == nil {
		var r HealthReply
		err := c.call("Health", &HealthArgs{Since: since, Wait: healthWait}, &r, callTimeout)
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			failures++
			c.pause(failures)
			var answered rpc.ServerError
			if errors.As(err, &answered) {
				c.log.Warn("relay: health reports", "err", err) // it answers: not lost
				continue
			}
			c.log.Warn("relay process lost: attaching to a new one", "err", err)
			if c.reattach() {
				since = 0
			}
			continue
		}
		failures = 0
		since = r.Next
		if len(r.Reports) > 0 {
			c.mu.Lock()
			c.staleAnswers() // which targets are eligible may have changed
			c.mu.Unlock()
		}
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

// pause waits before the next try after n failures in a row: nothing after
// the first, then from 50 ms doubling up to 2 s, or until Close.
func (c *Client) pause(n int) {
	if n <= 1 {
		return
	}
	d := min(50*time.Millisecond<<min(n-2, 6), 2*time.Second)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.ctx.Done():
	case <-t.C:
	}
}

// reattach connects to the data directory's relay process, starting one when
// none answers, until it succeeds or the client closes; fresh says it is
// another process than before, which has been given the routing, listeners
// and resolvers again before any other call reaches it.
func (c *Client) reattach() (fresh bool) {
	c.mu.Lock()
	if c.rc != nil {
		c.rc.Close()
		c.rc = nil
	}
	c.mu.Unlock()
	for n := 1; c.ctx.Err() == nil; n++ {
		rc, hello, _, err := connect(c.ctx, c.cfg.DataDir, c.cfg.Command, c.log)
		if err != nil {
			c.log.Warn("relay process: cannot attach", "err", err)
			c.pause(n + 1)
			continue
		}
		c.opMu.Lock()
		fresh = hello.ID != c.Generation()
		if fresh {
			c.log.Info("relay process replaced", "pid", hello.PID)
			c.replay(rc)
		}
		c.mu.Lock()
		if c.ctx.Err() != nil {
			c.mu.Unlock()
			c.opMu.Unlock()
			rc.Close()
			return false
		}
		c.rc, c.hello = rc, hello
		if fresh {
			clear(c.base) // the new process counts from zero
			c.staleAnswers()
		}
		c.mu.Unlock()
		c.opMu.Unlock()
		return fresh
	}
	return false
}

// replay gives a new relay process, on rc, the routing, the resolvers and the
// listeners the client gave the one before; what it cannot set up again is
// dropped from what the client knows, for the agent to set up again (the
// agent starts over on a new Generation). The caller holds c.opMu.
func (c *Client) replay(rc *rpc.Client) {
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
		if err := callWithin(rc, "Configure", routing, new(bool), callTimeout); err != nil {
			c.log.Warn("relay: configuring the new relay process", "err", err)
		}
	}
	for _, r := range resolvers {
		if err := callWithin(rc, "SetResolver", &r, new(bool), callTimeout); err != nil {
			c.mu.Lock()
			delete(c.resolvers, r.VPC)
			c.mu.Unlock()
			c.log.Warn("relay: starting a resolver again", "vpc", r.VPC, "err", err)
		}
	}
	for vpc, keys := range byVPC {
		a := ListenArgs{VPC: vpc, Addrs: make([]netip.AddrPort, len(keys)), Entries: make([]dataplane.Entry, len(keys))}
		for i, k := range keys {
			a.Addrs[i], a.Entries[i] = k.addr, entries[k]
		}
		var r ListenReply
		err := callWithin(rc, "Listen", &a, &r, callTimeout)
		if err == nil && len(r.Errs) != len(keys) {
			err = errors.New("a result per address expected")
		}
		c.mu.Lock()
		for i, k := range keys {
			if err != nil || r.Errs[i] != "" {
				delete(c.listening, k)
			}
		}
		c.mu.Unlock()
		if err != nil {
			c.log.Warn("relay: opening the listeners again", "vpc", vpc, "err", err)
		}
	}
}
