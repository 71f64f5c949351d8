package dataplane

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"strait/internal/model"

	"golang.org/x/sys/unix"
)

// Health check defaults of the NLB, used for zero fields of a HealthCheck.
const (
	DefaultHealthCheckInterval = 30 * time.Second
	DefaultHealthyThreshold    = 5
	DefaultUnhealthyThreshold  = 2
	DefaultHealthCheckMatcher  = "200-399"
)

// healthMode is what Configure set up for a target.
type healthMode int

const (
	modeUnused   healthMode = iota // no load balancer forwards to the group: no checks, no reports
	modeDisabled                   // health checks disabled: routable, reported unavailable
	modeChecking                   // a checker runs
	modeRemoved                    // the target left the configuration
)

// checkParams is everything a checker needs; a change restarts the checker.
type checkParams struct {
	hc   HealthCheck // defaults applied
	vpc  string
	from netip.Addr     // the load balancer's first node
	to   netip.AddrPort // target address, health check port
}

// targetState is the health of one registered target. It survives
// reconfigurations as long as the target stays registered in its group.
type targetState struct {
	code atomicHealth // read lock-free by routing

	mu       sync.Mutex // guards the fields below and serializes reports
	group    string
	target   Target
	mode     healthMode
	params   checkParams
	gen      uint64 // bumped whenever the checker changes: older checkers' results are dropped
	cancel   context.CancelFunc
	reported model.TargetHealth
}

// stop ends the target's checker for good.
func (st *targetState) stop() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.stopLocked()
	st.mode = modeRemoved
}

func (st *targetState) stopLocked() {
	if st.cancel != nil {
		st.cancel()
		st.cancel = nil
	}
	st.gen++
}

// withDefaults fills a health check's zero fields with the NLB's defaults.
func withDefaults(hc HealthCheck) HealthCheck {
	hc.Protocol = strings.ToUpper(hc.Protocol)
	if hc.Protocol == "" {
		hc.Protocol = "TCP"
	}
	if hc.Interval <= 0 {
		hc.Interval = DefaultHealthCheckInterval
	}
	if hc.Timeout <= 0 {
		hc.Timeout = 10 * time.Second
		if hc.Protocol == "HTTP" {
			hc.Timeout = 6 * time.Second
		}
	}
	if hc.HealthyThreshold <= 0 {
		hc.HealthyThreshold = DefaultHealthyThreshold
	}
	if hc.UnhealthyThreshold <= 0 {
		hc.UnhealthyThreshold = DefaultUnhealthyThreshold
	}
	if hc.Protocol != "TCP" {
		if hc.Path == "" {
			hc.Path = "/"
		}
		if hc.Matcher == "" {
			hc.Matcher = DefaultHealthCheckMatcher
		}
	}
	return hc
}

// syncHealth starts, restarts and stops checkers to match a new table. A group
// is checked from the first node of the first load balancer (in configuration
// order) with a listener forwarding to it; a group no load balancer uses is not
// checked (its targets are "unused", which control reports).
func (p *Proxy) syncHealth(cfg Config, t *table) {
	users := map[string]*lbRoute{}
	for _, lb := range cfg.LoadBalancers {
		r := t.lbs[lb.ARN]
		if len(r.nodes) == 0 {
			continue
		}
		for _, l := range lb.Listeners {
			if _, ok := users[l.TargetGroup]; !ok {
				users[l.TargetGroup] = r
			}
		}
	}
	for _, g := range t.groups {
		lb := users[g.arn]
		hc := withDefaults(g.hc)
		for _, ref := range g.list {
			mode, want := modeUnused, checkParams{}
			switch {
			case lb == nil:
			case !hc.Enabled:
				mode = modeDisabled
			default:
				mode = modeChecking
				port := hc.Port
				if port == 0 {
					port = ref.Addr.Port()
				}
				want = checkParams{hc: hc, vpc: lb.vpcID, from: lb.nodes[0].IP, to: netip.AddrPortFrom(ref.Addr.Addr(), port)}
			}
			p.setHealthMode(g.arn, ref, mode, want)
		}
	}
}

// setHealthMode applies a target's desired checking mode.
func (p *Proxy) setHealthMode(group string, ref *targetRef, mode healthMode, want checkParams) {
	st := ref.state
	st.mu.Lock()
	defer st.mu.Unlock()
	st.group, st.target = group, ref.Target
	if st.mode == mode && (mode != modeChecking || st.params == want) {
		return
	}
	prev := st.mode
	st.stopLocked()
	st.mode, st.params = mode, want
	switch mode {
	case modeUnused:
		st.code.Store(healthUnused)
		st.reported = model.TargetHealth{}
	case modeDisabled:
		st.code.Store(healthUnavailable)
		p.reportLocked(st, model.TargetHealth{State: model.TargetUnavailable, Reason: model.ReasonHealthCheckDisabled, Description: "Health checks are disabled"})
	case modeChecking:
		if prev != modeChecking {
			// A target a load balancer starts using is new to it: checks start over.
			st.code.Store(healthInitial)
			p.reportLocked(st, model.TargetHealth{State: model.TargetInitial, Reason: model.ReasonRegistrationInProgress, Description: "Target registration is in progress"})
		}
		ctx, cancel := context.WithCancel(p.ctx)
		st.cancel = cancel
		p.checkers.Add(1)
		go p.runChecks(ctx, st, st.gen, want)
	}
}

// reportLocked records and reports a target's health; Since is kept when only
// the reason changed. st.mu is held.
func (p *Proxy) reportLocked(st *targetState, h model.TargetHealth) {
	if h.State == st.reported.State && h.Reason == st.reported.Reason && h.Description == st.reported.Description {
		return
	}
	if h.State == st.reported.State {
		h.Since = st.reported.Since
	} else {
		h.Since = time.Now()
	}
	st.reported = h
	p.log.Debug("target health", "target_group", st.group, "target", st.target.ID, "state", h.State, "reason", h.Reason)
	p.reports.add(healthChange{st.group, st.target, h})
}

// checkResult is the outcome of one health check.
type checkResult struct {
	ok                  bool
	reason, description string
}

// runChecks checks a target immediately and then every interval until ctx ends.
func (p *Proxy) runChecks(ctx context.Context, st *targetState, gen uint64, cp checkParams) {
	defer p.checkers.Done()
	tick := time.NewTicker(cp.hc.Interval)
	defer tick.Stop()
	var succ, fail int
	for ctx.Err() == nil {
		res := p.check(ctx, cp)
		if ctx.Err() != nil {
			return
		}
		p.observe(st, gen, cp.hc, res, &succ, &fail)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// observe runs the NLB's state machine on one check result: HealthyThreshold
// successes in a row make a target healthy, UnhealthyThreshold failures in a row
// unhealthy (from initial too).
func (p *Proxy) observe(st *targetState, gen uint64, hc HealthCheck, res checkResult, succ, fail *int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gen != gen {
		return
	}
	cur := st.code.Load()
	if res.ok {
		*succ, *fail = *succ+1, 0
		if cur != healthHealthy && *succ >= hc.HealthyThreshold {
			st.code.Store(healthHealthy)
			p.reportLocked(st, model.TargetHealth{State: model.TargetHealthy})
		}
		return
	}
	*succ, *fail = 0, *fail+1
	if cur == healthUnhealthy || *fail >= hc.UnhealthyThreshold {
		st.code.Store(healthUnhealthy)
		p.reportLocked(st, model.TargetHealth{State: model.TargetUnhealthy, Reason: res.reason, Description: res.description})
	}
}

// check runs one health check: a connection from the load balancer's node to the
// target's health check port within the timeout, and for HTTP(S) a GET of the
// path whose status must match the matcher.
func (p *Proxy) check(ctx context.Context, cp checkParams) checkResult {
	ctx, cancel := context.WithTimeout(ctx, cp.hc.Timeout)
	defer cancel()
	fd, err := DialWait(ctx, p.opts.Dial, cp.vpc, cp.from, cp.to)
	if err != nil {
		return failed(err)
	}
	if cp.hc.Protocol != "HTTP" && cp.hc.Protocol != "HTTPS" {
		unix.Close(fd)
		return checkResult{ok: true}
	}
	conn, err := SocketConn(fd)
	if err != nil {
		return failed(err)
	}
	defer conn.Close()
	return httpCheck(ctx, conn, cp)
}

// httpCheck sends GET path over conn (TLS without verification for HTTPS) and
// matches the response status.
func httpCheck(ctx context.Context, conn net.Conn, cp checkParams) checkResult {
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if cp.hc.Protocol == "HTTPS" {
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true}) // #nosec G402 -- as the NLB: targets' certificates are not verified
		if err := tc.HandshakeContext(ctx); err != nil {
			return failed(err)
		}
		conn = tc
	}
	req := "GET " + cp.hc.Path + " HTTP/1.1\r\nHost: " + cp.to.String() +
		"\r\nUser-Agent: ELB-HealthChecker/2.0\r\nAccept: */*\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return failed(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return failed(err)
	}
	resp.Body.Close()
	if !matchStatus(cp.hc.Matcher, resp.StatusCode) {
		return checkResult{reason: model.ReasonResponseCodeMismatch,
			description: fmt.Sprintf("Health checks failed with these codes: [%d]", resp.StatusCode)}
	}
	return checkResult{ok: true}
}

// failed classifies a failed check: a timeout or any other failure.
func failed(err error) checkResult {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return checkResult{reason: model.ReasonTimeout, description: "Request timed out"}
	}
	return checkResult{reason: model.ReasonFailedHealthChecks, description: "Health checks failed"}
}

// matchStatus reports whether code matches an HTTP matcher: codes and ranges
// separated by commas, e.g. "200", "200,202" or "200-399".
func matchStatus(matcher string, code int) bool {
	for item := range strings.SplitSeq(matcher, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(item), "-")
		if !isRange {
			hi = lo
		}
		l, err1 := strconv.Atoi(strings.TrimSpace(lo))
		h, err2 := strconv.Atoi(strings.TrimSpace(hi))
		if err1 == nil && err2 == nil && l <= code && code <= h {
			return true
		}
	}
	return false
}
