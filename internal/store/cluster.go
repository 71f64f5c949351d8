package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Member makes the embedded etcd one member of a cluster of embedded members
// (one per `strait server` replica), reachable by its peers over the network.
// The zero Member is the default: a single member that only this process
// reaches.
//
// A member starts a new cluster (InitialCluster names every member, this one
// included; all of them start together) or joins a running one (Join: it is
// added with MemberAdd through one of those client URLs, then started).
// Either is only done once: a member whose data directory already holds etcd
// data restarts from it and rejoins its cluster, whatever InitialCluster and
// Join say.
//
// Peer and client traffic is plain HTTP: on a network that is not trusted
// end to end, run etcd with TLS (an external cluster, Config.Endpoints) —
// the embedded members do not do TLS yet.
type Member struct {
	// Name is this member's name, unique in the cluster.
	Name string
	// PeerURL is where the other members reach this one (http://IP:PORT);
	// the member listens on it and advertises it.
	PeerURL string
	// ClientURL, if set, is where etcd clients reach this member: other
	// members' Join, other replicas' Config.Endpoints, etcdctl. Empty: only
	// this process does (in-process).
	ClientURL string
	// InitialCluster is name=peerURL,... of every member of a new cluster.
	InitialCluster string
	// Join are client URLs of members of a running cluster to join.
	Join []string
}

// IsZero reports whether m is the default single member.
func (m Member) IsZero() bool {
	return m.Name == "" && m.PeerURL == "" && m.ClientURL == "" && m.InitialCluster == "" && len(m.Join) == 0
}

// Validate reports the first thing wrong with m, in the words of the
// `strait server` flags that set it.
func (m Member) Validate() error {
	if m.IsZero() {
		return nil
	}
	if m.Name == "" {
		return errors.New("--etcd-name is required with --etcd-initial-cluster, --etcd-join, --etcd-peer-listen or --etcd-client-listen: it names this member in the etcd cluster")
	}
	if strings.ContainsAny(m.Name, "=, ") {
		return fmt.Errorf("--etcd-name %q: a member name cannot contain '=', ',' or spaces", m.Name)
	}
	if m.PeerURL == "" {
		return errors.New("--etcd-peer-listen is required in an etcd cluster: the URL the other members reach this one by (e.g. http://10.0.0.1:2380)")
	}
	if err := checkMemberURL("--etcd-peer-listen", m.PeerURL); err != nil {
		return err
	}
	if m.ClientURL != "" {
		if err := checkMemberURL("--etcd-client-listen", m.ClientURL); err != nil {
			return err
		}
	}
	switch {
	case m.InitialCluster == "" && len(m.Join) == 0:
		return errors.New("an etcd cluster member needs --etcd-initial-cluster (start a new cluster: name=peerURL of every member) or --etcd-join (client URL of a running member)")
	case m.InitialCluster != "" && len(m.Join) > 0:
		return errors.New("--etcd-initial-cluster and --etcd-join exclude each other: start a new cluster or join a running one")
	case m.InitialCluster != "":
		peers, err := parseInitialCluster(m.InitialCluster)
		if err != nil {
			return err
		}
		if !slices.Contains(peers[m.Name], m.PeerURL) {
			return fmt.Errorf("--etcd-initial-cluster %q does not name this member as %s=%s (--etcd-name, --etcd-peer-listen)", m.InitialCluster, m.Name, m.PeerURL)
		}
	default:
		for _, j := range m.Join {
			if err := checkMemberURL("--etcd-join", j); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkMemberURL checks that u is an http URL with a host and an explicit,
// fixed port.
func checkMemberURL(flag, u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("%s %q: %w", flag, u, err)
	}
	if p.Scheme != "http" {
		return fmt.Errorf("%s %q: want http://HOST:PORT (the embedded members do not do TLS)", flag, u)
	}
	host, port, err := net.SplitHostPort(p.Host)
	if err != nil || host == "" || port == "" || port == "0" || (p.Path != "" && p.Path != "/") {
		return fmt.Errorf("%s %q: want http://HOST:PORT with a fixed port", flag, u)
	}
	return nil
}

// parseInitialCluster parses name=URL,name=URL,... into each name's URLs.
func parseInitialCluster(s string) (map[string][]string, error) {
	peers := map[string][]string{}
	for _, entry := range strings.Split(s, ",") {
		name, u, ok := strings.Cut(strings.TrimSpace(entry), "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--etcd-initial-cluster %q: want name=http://HOST:PORT,... (entry %q)", s, entry)
		}
		if err := checkMemberURL("--etcd-initial-cluster", u); err != nil {
			return nil, err
		}
		peers[name] = append(peers[name], u)
	}
	return peers, nil
}

// hasData reports whether the etcd directory holds a member's data (its WAL):
// then etcd restarts from it and ignores how a cluster is started.
func hasData(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "member", "wal"))
	return err == nil
}

// applyMember makes cfg the configuration of member m (not zero), joining a
// running cluster first if m says so and dir holds no data yet.
func applyMember(ctx context.Context, cfg *embed.Config, m Member, dir string) error {
	peer, err := url.Parse(m.PeerURL)
	if err != nil {
		return err
	}
	cfg.Name = m.Name
	cfg.ListenPeerUrls = []url.URL{*peer}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	if m.ClientURL != "" {
		c, err := url.Parse(m.ClientURL)
		if err != nil {
			return err
		}
		cfg.ListenClientUrls = []url.URL{*c}
		cfg.AdvertiseClientUrls = []url.URL{*c}
	}
	switch {
	case hasData(dir):
		// etcd restarts from its data; the initial cluster is not used but
		// must be well-formed.
		cfg.InitialCluster = cfg.InitialClusterFromName(m.Name)
		cfg.ClusterState = embed.ClusterStateFlagNew
	case m.InitialCluster != "":
		cfg.InitialCluster = m.InitialCluster
		cfg.ClusterState = embed.ClusterStateFlagNew
	default:
		initial, err := addMember(ctx, m)
		if err != nil {
			return err
		}
		cfg.InitialCluster = initial
		cfg.ClusterState = embed.ClusterStateFlagExisting
	}
	return nil
}

// addMember adds m to the running cluster at m.Join (MemberAdd) and returns
// the initial cluster m starts with. A member already added with m's peer URL
// that never started (an earlier attempt that stopped before etcd did) is
// taken as this one.
func addMember(ctx context.Context, m Member) (string, error) {
	join := strings.Join(m.Join, ",")
	cli, err := clientv3.New(clientv3.Config{Endpoints: m.Join, DialTimeout: dialTimeout, Logger: zap.NewNop()})
	if err != nil {
		return "", fmt.Errorf("store: join etcd cluster at %s: %w", join, err)
	}
	defer cli.Close()
	actx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	var id uint64
	var members []*memberInfo
	var resp *clientv3.MemberAddResponse
	for {
		// etcd refuses to add a member (unhealthy cluster) until its members
		// have been connected for 5 s, as after they started.
		resp, err = cli.MemberAdd(actx, []string{m.PeerURL})
		if !errors.Is(err, rpctypes.ErrUnhealthy) {
			break
		}
		select {
		case <-actx.Done():
		case <-time.After(time.Second):
			continue
		}
		break
	}
	switch {
	case err == nil:
		id = resp.Member.ID
		members = memberInfos(resp.Members)
	case errors.Is(err, rpctypes.ErrPeerURLExist):
		list, lerr := cli.MemberList(actx)
		if lerr != nil {
			return "", fmt.Errorf("store: join etcd cluster at %s: list members: %w", join, lerr)
		}
		members = memberInfos(list.Members)
		for _, mi := range members {
			if slices.Contains(mi.peers, m.PeerURL) {
				if mi.name != "" {
					return "", fmt.Errorf("store: join etcd cluster at %s: member %s (%x) with peer URL %s is already in the cluster and has started; if its data is lost, remove it first (etcdctl member remove %x)", join, mi.name, mi.id, m.PeerURL, mi.id)
				}
				id = mi.id
			}
		}
	default:
		return "", fmt.Errorf("store: join etcd cluster at %s: add member %s: %w", join, m.PeerURL, err)
	}
	var entries []string
	for _, mi := range members {
		name := mi.name
		if mi.id == id {
			name = m.Name
		}
		for _, u := range mi.peers {
			entries = append(entries, name+"="+u)
		}
	}
	return strings.Join(entries, ","), nil
}

// joinTimeout bounds adding a member to a running cluster.
const joinTimeout = 30 * time.Second

// memberInfo is what addMember needs of a cluster member.
type memberInfo struct {
	id    uint64
	name  string // "" until the member has started
	peers []string
}

func memberInfos(ms []*etcdserverpb.Member) []*memberInfo {
	out := make([]*memberInfo, 0, len(ms))
	for _, m := range ms {
		out = append(out, &memberInfo{id: m.GetID(), name: m.GetName(), peers: m.GetPeerURLs()})
	}
	return out
}
