package agentapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// The agent knows every server replica's agent listener: those given with
// --server, and those the servers name in their heartbeat answers (the
// replicas that announce themselves). It calls one of them; when that one
// cannot be reached, or answers that it does not lead the region
// (CodeNotLeader: only the leader serves parts and takes reports), it calls
// the next, or the leader the answer names.

// ServerURLs checks a --server value: one or more agent listeners,
// comma-separated (see ServerURL).
func ServerURLs(s string) ([]string, error) {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		u, err := ServerURL(part)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--server %q names no agent listener: give https://HOST:PORT of the server's agent listener (several, comma-separated, for server replicas)", s)
	}
	return out, nil
}

// server is the agent listener the client calls now.
func (c *Client) server() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.servers[c.at]
}

// Servers lists the agent listeners the client knows, the one it calls now
// first.
func (c *Client) Servers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Concat(c.servers[c.at:], c.servers[:c.at])
}

// learn adds the agent listeners a server named to those the client knows
// and reports whether that changed them.
func (c *Client) learn(servers []string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := false
	for _, s := range servers {
		u, err := ServerURL(s)
		if err != nil || slices.Contains(c.servers, u) {
			continue
		}
		c.servers = append(c.servers, u)
		changed = true
	}
	return changed
}

// failover moves the client off from, which failed with err, and reports
// whether another server is worth a try: err is a transport error, a
// NotLeader answer (which may name the leader) or another 503 (a replica
// cut off from etcd's quorum), and a server not tried yet in this call
// remains. A named leader is tried next unless it was tried already (an
// address this host cannot use must not send it back and forth).
func (c *Client) failover(from string, err error, tried map[string]bool) bool {
	var apiErr *Error
	leader := ""
	if errors.As(err, &apiErr) {
		if apiErr.Status != http.StatusServiceUnavailable {
			return false
		}
		if apiErr.Code == CodeNotLeader {
			leader = apiErr.Leader
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if u, err := ServerURL(leader); leader != "" && err == nil && !tried[u] {
		if i := slices.Index(c.servers, u); i >= 0 {
			c.at = i
		} else {
			c.servers = append(c.servers, u)
			c.at = len(c.servers) - 1
		}
		return true
	}
	if c.servers[c.at] != from && !tried[c.servers[c.at]] {
		return true // a concurrent call moved it already
	}
	for k := 1; k <= len(c.servers); k++ {
		next := (c.at + k) % len(c.servers)
		if !tried[c.servers[next]] {
			c.at = next
			return true
		}
	}
	return false
}

// each runs fn against the server the client calls now and, while fn fails
// in a way failover accepts, against each other server at most once.
func (c *Client) each(ctx context.Context, fn func(server string) error) error {
	tried := map[string]bool{}
	for {
		from := c.server()
		tried[from] = true
		err := fn(from)
		if err == nil || ctx.Err() != nil || !c.failover(from, err, tried) {
			return err
		}
	}
}

// notLeader answers a call that only the leader serves.
func notLeader(leader string) error {
	msg := "This server replica does not lead the region: only the leader serves hosts their parts and takes their reports"
	if leader != "" {
		msg += "; the leader's agent listener is " + leader
	}
	return &Error{Status: http.StatusServiceUnavailable, ErrorDetail: ErrorDetail{Code: CodeNotLeader, Message: msg, Leader: leader}}
}

// saveServers writes the agent listeners the client knows to its identity in
// the data directory, so that a restarted agent knows them too.
func (c *Client) saveServers() error {
	if c.dataDir == "" {
		return nil
	}
	c.mu.Lock()
	id := c.id
	id.Server, id.Servers = c.servers[c.at], slices.Clone(c.servers)
	c.mu.Unlock()
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(c.dataDir, hostFile, append(b, '\n'), 0o644)
}
