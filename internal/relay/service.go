package relay

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"strait/internal/agent"
	"strait/internal/dataplane"
)

// The relay process answers its clients with net/rpc (gob) over a Unix
// socket; service's methods are the calls, named "Relay.<method>".

// maxHealthWait bounds how long a Health call waits for a change.
const maxHealthWait = 30 * time.Second

// Protocol is the version of the calls below: a server attaches only to a
// relay process of its own protocol (it stops one of another, whose
// connections end). Bump it with every change to the calls or their types.
const Protocol = 3

// Hello says which relay process answers: ID is new with every process.
type Hello struct {
	ID       string
	PID      int
	Version  string
	Protocol int
}

// ListenArgs are Listen's arguments (agent.Relay.Listen).
type ListenArgs struct {
	VPC     string
	Addrs   []netip.AddrPort
	Entries []dataplane.Entry
}

// ListenReply says, per address, why it was not opened ("" when it was).
type ListenReply struct{ Errs []string }

// ResolverArgs are SetResolver's arguments.
type ResolverArgs struct {
	VPC     string
	Addr    netip.AddrPort
	Records map[string][]netip.Addr
}

// AddrArgs name a listener.
type AddrArgs struct {
	VPC  string
	Addr netip.AddrPort
}

// NodeArgs name a load balancer's node, and a listener port for Eligible.
type NodeArgs struct {
	LB   string
	AZ   string
	Port uint16
}

// NodeReply is Node's answer.
type NodeReply struct {
	Node dataplane.Node
	OK   bool
}

// HealthArgs ask for the reports after Since, waiting up to Wait for one.
type HealthArgs struct {
	Since uint64
	Wait  time.Duration
}

// HealthReply are the reports, and the sequence number to ask from next.
type HealthReply struct {
	Reports []HealthReport
	Next    uint64
}

// service is the relay process's side of the calls.
type service struct {
	ctx      context.Context // the process's: ends waiting Health calls
	hello    Hello
	local    *Local
	health   *healthLog
	gatherer prometheus.Gatherer
	shutdown func()
}

func (s *service) Hello(_ bool, r *Hello) error {
	*r = s.hello
	return nil
}

func (s *service) Configure(cfg *dataplane.Config, _ *bool) error {
	s.local.Configure(*cfg)
	s.health.retain(*cfg)
	return nil
}

func (s *service) Listen(a *ListenArgs, r *ListenReply) error {
	if len(a.Addrs) != len(a.Entries) {
		return errors.New("relay: Listen needs an entry per address")
	}
	errs, err := s.local.Listen(a.VPC, a.Addrs, a.Entries)
	if err != nil {
		return err
	}
	r.Errs = make([]string, len(errs))
	for i, e := range errs {
		if e != nil {
			r.Errs[i] = e.Error()
		}
	}
	return nil
}

func (s *service) Unlisten(a *AddrArgs, _ *bool) error {
	s.local.Unlisten(a.VPC, a.Addr)
	return nil
}

func (s *service) SetResolver(a *ResolverArgs, _ *bool) error {
	return s.local.SetResolver(a.VPC, a.Addr, a.Records)
}

func (s *service) ForgetVPC(vpc *string, _ *bool) error {
	s.local.ForgetVPC(*vpc)
	return nil
}

// CountedReply is Counted's answer.
type CountedReply struct{ Endpoints, Services []string }

func (s *service) Counted(_ bool, r *CountedReply) error {
	r.Endpoints, r.Services = s.local.Counted()
	return nil
}

func (s *service) RelayedStats(_ bool, r *map[string]dataplane.Stats) error {
	*r = s.local.RelayedStats()
	return nil
}

func (s *service) Listening(_ bool, r *[]agent.Listening) error {
	*r = s.local.Listening()
	return nil
}

func (s *service) Eligible(a *NodeArgs, r *[]netip.AddrPort) error {
	*r = s.local.Eligible(a.LB, a.AZ, a.Port)
	return nil
}

func (s *service) Node(a *NodeArgs, r *NodeReply) error {
	r.Node, r.OK = s.local.Node(a.LB, a.AZ)
	return nil
}

func (s *service) EndpointStats(ids *[]string, r *map[string]dataplane.Stats) error {
	*r = s.local.EndpointStats(*ids)
	return nil
}

func (s *service) SetTranslated(per *map[string]agent.Translated, _ *bool) error {
	s.local.SetTranslated(*per)
	return nil
}

func (s *service) ForgetEndpoint(id *string, _ *bool) error {
	s.local.ForgetEndpoint(*id)
	return nil
}

func (s *service) ForgetService(id *string, _ *bool) error {
	s.local.ForgetService(*id)
	return nil
}

// Metrics answers the relay process's metrics in the Prometheus protobuf
// format (delimited).
func (s *service) Metrics(_ bool, r *[]byte) error {
	mfs, err := s.gatherer.Gather()
	if err != nil {
		return err
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeProtoDelim))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	*r = b.Bytes()
	return nil
}

func (s *service) Health(a *HealthArgs, r *HealthReply) error {
	r.Reports, r.Next = s.health.since(s.ctx, a.Since, min(max(a.Wait, 0), maxHealthWait))
	return nil
}

// Shutdown stops the relay process: its listeners and connections end.
func (s *service) Shutdown(_ bool, _ *bool) error {
	s.shutdown()
	return nil
}
