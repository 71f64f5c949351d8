package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/server/v3/etcdserver"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"strait/internal/model"
)

// ErrUnavailable is wrapped (by an *UnavailableError) by the error of a store call that etcd could not
// answer within the request timeout: the cluster has no quorum or no leader,
// or its members cannot be reached. The message says how many members were
// reachable. The call may be retried later; a write that failed so either was
// applied whole or not at all (etcd's transactions are atomic), and the
// message says when it is not known which.
var ErrUnavailable = errors.New("store: etcd unavailable")

// UnavailableError is the error of a store call that etcd could not answer in
// time. It wraps ErrUnavailable and the cause.
type UnavailableError struct {
	// Op is the call: get "KEY", list "PREFIX", update, rev.
	Op string
	// Reason says what the store could see of the cluster, e.g. "etcd has no
	// quorum: 1 of 3 members reachable, 2 needed".
	Reason string
	// OutcomeUnknown is set for a write that may or may not have been applied
	// (all of it or nothing: etcd transactions are atomic).
	OutcomeUnknown bool
	// Err is what etcd or the client said.
	Err error
}

func (e *UnavailableError) Error() string {
	msg := fmt.Sprintf("%v: %s: %s", ErrUnavailable, e.Op, e.Reason)
	if e.OutcomeUnknown {
		msg += "; the write may or may not have been applied (all of it or nothing): read before retrying"
	}
	return msg + " (" + e.Err.Error() + ")"
}

// ClientMessage says it to an API client: the state store is unavailable and
// why, and whether the change may have been made.
func (e *UnavailableError) ClientMessage() string {
	msg := "The request has failed due to a temporary failure of the server: its state store is unavailable (" + e.Reason + "). Try again later."
	if e.OutcomeUnknown {
		msg += " The change may or may not have been made: look before making it again."
	}
	return msg
}

// Unwrap gives ErrUnavailable, the domain error the APIs answer
// (model.ErrUnavailable, with ClientMessage), and the cause.
func (e *UnavailableError) Unwrap() []error {
	return []error{ErrUnavailable, &model.Error{Err: model.ErrUnavailable, Msg: e.ClientMessage()}, e.Err}
}

// DefaultRequestTimeout bounds a store call when Config.RequestTimeout is 0.
// It is longer than the embedded etcd's own request timeout (5 s plus two
// election timeouts: 7 s), so that etcd's own error comes first when it has
// one, and long enough for an election after a leader's loss (about 1-2 s).
const DefaultRequestTimeout = 8 * time.Second

// Tunables of waiting for etcd.
const (
	retryPause   = 100 * time.Millisecond // between attempts of a call etcd refused for now
	probeTimeout = 500 * time.Millisecond // reaching one member when telling why etcd is unavailable
)

// bound returns ctx limited to the store's request timeout.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// attempt runs call until it succeeds, fails otherwise than with a transient
// unavailability, or bctx ends. retryable says which failures may run it
// again: reads may always, writes only when etcd surely did not apply them.
func attempt(bctx context.Context, retryable func(error) bool, call func() error) error {
	for {
		err := call()
		if err == nil || !retryable(err) {
			return err
		}
		select {
		case <-bctx.Done():
			return err
		case <-time.After(retryPause):
		}
		if bctx.Err() != nil {
			return err
		}
	}
}

// isUnavailable reports whether err means that etcd could not answer (rather
// than that it refused the request).
func isUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || notApplied(err) {
		return true
	}
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) && ee.Code() == codes.Unavailable {
		return true
	}
	if st, ok := status.FromError(err); ok && (st.Code() == codes.Unavailable || st.Code() == codes.DeadlineExceeded) {
		return true
	}
	return false
}

// notApplied reports whether a failed write surely was not applied: etcd
// refused it before proposing it.
func notApplied(err error) bool {
	return errors.Is(err, rpctypes.ErrNoLeader) || errors.Is(err, rpctypes.ErrGRPCNoLeader) ||
		strings.Contains(err.Error(), "raft proposal dropped")
}

// isTransient reports whether a read that failed with err may be tried again
// at once: etcd answered that it cannot serve it now (no leader, a leader
// change), as opposed to a deadline that has passed.
func isTransient(err error) bool {
	return isUnavailable(err) && !errors.Is(err, context.DeadlineExceeded)
}

// failed is the error of call op that failed with err under the caller's ctx:
// wrapping ErrUnavailable, with what this store can see of the cluster, when
// etcd could not answer and the caller did not give up first. write says
// whether op wrote: then the message says when its outcome is unknown.
func (s *Store) failed(ctx context.Context, op string, err error, write bool) error {
	if ctx.Err() != nil || !isUnavailable(err) || errors.Is(err, ErrUnavailable) {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return &UnavailableError{Op: op, Reason: s.diagnose(), OutcomeUnknown: write && !notApplied(err), Err: err}
}

// diagnose says what this store can see of the etcd cluster: how many members
// it reaches, and whether there is a leader.
func (s *Store) diagnose() string {
	if s.etcd != nil {
		return reachableMembers(s.etcd.Server)
	}
	return s.reachableEndpoints()
}

// reachableMembers says how many members of an embedded member's cluster
// accept a connection on their peer URL (itself included) and whether it knows
// a leader.
func reachableMembers(srv *etcdserver.EtcdServer) string {
	members := srv.Cluster().Members()
	var reached atomic.Int32
	var wg sync.WaitGroup
	for _, m := range members {
		if m.ID == srv.MemberID() {
			reached.Add(1)
			continue
		}
		wg.Go(func() {
			for _, p := range m.PeerURLs {
				u, err := url.Parse(p)
				if err != nil {
					continue
				}
				if c, err := net.DialTimeout("tcp", u.Host, probeTimeout); err == nil {
					c.Close()
					reached.Add(1)
					return
				}
			}
		})
	}
	wg.Wait()
	n, quorum := int(reached.Load()), len(members)/2+1
	switch {
	case n < quorum:
		return fmt.Sprintf("etcd has no quorum: %d of %d members reachable, %d needed", n, len(members), quorum)
	case srv.Leader() == 0:
		return fmt.Sprintf("etcd has no leader: %d of %d members reachable", n, len(members))
	}
	return fmt.Sprintf("etcd did not answer in time: %d of %d members reachable, leader %s", n, len(members), srv.Leader())
}

// reachableEndpoints says how many of an external cluster's endpoints answer
// a status request and whether any knows a leader.
func (s *Store) reachableEndpoints() string {
	var answered, led atomic.Int32
	var wg sync.WaitGroup
	for _, ep := range s.eps {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
			defer cancel()
			resp, err := s.cli.Status(ctx, ep)
			if err != nil {
				return
			}
			answered.Add(1)
			if resp.Leader != 0 {
				led.Add(1)
			}
		})
	}
	wg.Wait()
	if answered.Load() == 0 {
		return fmt.Sprintf("etcd is unreachable: 0 of %d endpoints answer", len(s.eps))
	}
	if led.Load() == 0 {
		return fmt.Sprintf("etcd has no leader: %d of %d endpoints answer, none knows a leader", answered.Load(), len(s.eps))
	}
	return fmt.Sprintf("etcd did not answer in time: %d of %d endpoints answer", answered.Load(), len(s.eps))
}
