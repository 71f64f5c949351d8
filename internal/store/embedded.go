package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
)

// Tunables of the embedded etcd server.
const (
	readyTimeout      = 60 * time.Second
	clusterWaitLog    = 10 * time.Second
	quotaBackendBytes = 2 << 30 // 2 GiB
	compactionPeriod  = "1h"
	maxTxnOps         = 1024 // etcd default is 128; bounds the keys one Update may touch
	// raftCatchUpEntries is how many applied raft entries etcd keeps in memory
	// after each in-memory snapshot (taken every 100 entries) for slow followers
	// to catch up from. The embedded etcd is a single member with no follower,
	// so it needs none; etcd's default (5,000) kept every write of the last
	// 5,000 transactions in the heap — a settle of 64 endpoints is a 40 KB
	// entry — which was most of the server's heap after 1,000 endpoints.
	raftCatchUpEntries = 100
)

// openEmbedded starts the embedded etcd in dataDir/etcd — a single member, or
// member m of a cluster — and connects an in-process client to it.
func (s *Store) openEmbedded(ctx context.Context, dataDir string, m Member, purgeInterval time.Duration) (err error) {
	if dataDir == "" {
		return errors.New("store: Config.DataDir is required when no Endpoints are given")
	}
	dir := filepath.Join(dataDir, "etcd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: create data dir: %w", err)
	}
	if s.lock, err = lockDir(dir, dataDir); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			s.lock.release()
		}
	}()

	start := time.Now()
	lg := newEtcdLogger(s.log, &s.closing)
	cfg := embedConfig(dir, lg)
	if !m.IsZero() {
		if err := applyMember(ctx, cfg, m, dir); err != nil {
			return err
		}
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("store: start embedded etcd in %s: %w", dir, err)
	}
	err = s.waitReady(ctx, e, !m.IsZero())
	if err != nil {
		s.closing.Store(true)
		e.Close()
		return fmt.Errorf("store: start embedded etcd in %s: %w", dir, err)
	}
	s.etcd = e
	s.cli = v3client.New(e.Server)
	if !m.IsZero() {
		if err := s.advertisePeerURL(ctx, m.PeerURL); err != nil {
			s.cli.Close()
			s.closing.Store(true)
			e.Close()
			return err
		}
	}
	if purgeInterval <= 0 {
		purgeInterval = defaultPurgeInterval
	}
	s.stopPurge = make(chan struct{})
	s.purgeDone = make(chan struct{})
	go func() {
		defer close(s.purgeDone)
		s.purgeFiles(lg, e.Server.Cfg.WALDir(), e.Server.Cfg.SnapDir(), purgeInterval, s.stopPurge)
	}()
	s.log.Info("store: embedded etcd ready", "dir", dir, "took", time.Since(start).Round(time.Millisecond), "member", cfg.Name, "members", len(e.Server.Cluster().Members()))
	return nil
}

// waitReady waits until the embedded etcd e serves. A single member is ready
// at once (within readyTimeout); a cluster member only once a quorum of
// members runs, so it waits as long as ctx allows, saying every
// clusterWaitLog what it waits for.
func (s *Store) waitReady(ctx context.Context, e *embed.Etcd, cluster bool) error {
	timeout := time.After(readyTimeout)
	var tick <-chan time.Time
	if cluster {
		timeout = nil
		t := time.NewTicker(clusterWaitLog)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-e.Server.ReadyNotify():
			return nil
		case err := <-e.Err():
			if err == nil {
				err = errors.New("server exited")
			}
			return err
		case <-e.Server.StopNotify():
			return errors.New("server stopped")
		case <-timeout:
			return fmt.Errorf("not ready after %v", readyTimeout)
		case <-tick:
			s.log.Warn("store: waiting for a quorum of the etcd cluster", "reachable", reachableMembers(e.Server))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// embedConfig returns the configuration of the embedded single member, logging
// through lg. Strait talks to the server in-process, so it serves no client
// port at all; the peer listener that etcd requires is bound to loopback with
// a kernel-chosen port, so concurrent instances never collide. applyMember
// turns it into a cluster member's.
func embedConfig(dir string, lg *zap.Logger) *embed.Config {
	cfg := embed.NewConfig()
	cfg.Name = "strait"
	cfg.Dir = dir

	peer := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.ListenClientUrls = nil
	cfg.AdvertiseClientUrls = nil
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.InitialClusterToken = "strait"

	cfg.QuotaBackendBytes = quotaBackendBytes
	cfg.AutoCompactionMode = embed.CompactorModePeriodic
	cfg.AutoCompactionRetention = compactionPeriod
	cfg.MaxTxnOps = maxTxnOps
	// The store purges old WAL and snapshot files itself (purge.go): etcd's
	// purge stops the process on an error.
	cfg.MaxWalFiles = 0
	cfg.MaxSnapFiles = 0
	cfg.SnapshotCatchUpEntries = raftCatchUpEntries

	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(lg)
	return cfg
}

// advertisePeerURL makes peer this member's peer URL in the cluster's
// membership if it is not yet: a member restarted with another
// --etcd-peer-listen, or a single member's data (whose peer port was chosen by
// the kernel) that now starts a cluster.
func (s *Store) advertisePeerURL(ctx context.Context, peer string) error {
	srv := s.etcd.Server
	self := srv.Cluster().Member(srv.MemberID())
	if self == nil || slices.Equal(self.PeerURLs, []string{peer}) {
		return nil
	}
	uctx, cancel := s.bound(ctx)
	defer cancel()
	if _, err := s.cli.MemberUpdate(uctx, uint64(self.ID), []string{peer}); err != nil {
		return fmt.Errorf("store: advertise peer URL %s instead of %s: %w", peer, strings.Join(self.PeerURLs, ","), err)
	}
	s.log.Info("store: this etcd member's peer URL changed", "from", self.PeerURLs, "to", peer)
	return nil
}
