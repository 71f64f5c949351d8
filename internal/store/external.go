package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// dialTimeout bounds connecting to and probing an external cluster.
const dialTimeout = 5 * time.Second

// openExternal connects to an external etcd cluster and checks that it
// answers a read.
func (s *Store) openExternal(ctx context.Context, endpoints []string) error {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: dialTimeout,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return fmt.Errorf("store: connect to etcd %s: %w", strings.Join(endpoints, ","), err)
	}
	pctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	resp, err := cli.Get(pctx, s.prefix, clientv3.WithCountOnly())
	if err != nil {
		cli.Close()
		return fmt.Errorf("store: etcd %s unreachable: %w", strings.Join(endpoints, ","), err)
	}
	s.cli, s.eps = cli, endpoints
	s.log.Info("store: connected to etcd", "endpoints", endpoints, "revision", resp.Header.Revision)
	return nil
}
