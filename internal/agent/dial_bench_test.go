package agent_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"

	"strait/internal/agent"
	"strait/internal/testenv"
)

// BenchmarkDialInNamespace measures what the data plane pays per connection to
// reach a target from a VPC namespace: Host.Dial (connect, 1-byte echo, close)
// against the same exchange from a goroutine whose thread stays in the
// namespace (the cost of the TCP exchange alone). Root only.
func BenchmarkDialInNamespace(b *testing.B) {
	testenv.RequireRoot(b)
	tag := make([]byte, 3)
	rand.Read(tag)
	h, err := agent.NewHost(hex.EncodeToString(tag), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if _, err := agent.Down(h.Tag()); err != nil {
			b.Errorf("Down: %v", err)
		}
	})
	v := vpc("10.0.0.0/16", "10.0.1.0/24")
	if err := h.EnsureVPC(v); err != nil {
		b.Fatal(err)
	}
	from, to := netip.MustParseAddr("10.0.1.50"), netip.MustParseAddrPort("10.0.1.51:7000")
	enis := []agent.ENI{{ID: randomID("eni"), SubnetID: v.Subnets[0].ID, IP: from}, {ID: randomID("eni"), SubnetID: v.Subnets[0].ID, IP: to.Addr()}}
	if err := h.SetAddresses(v.ID, enis, v); err != nil {
		b.Fatal(err)
	}
	ln, err := h.Listen(v.ID, to)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.CopyN(c, c, 1)
			}()
		}
	}()
	exchange := func(c net.Conn) error {
		defer c.Close()
		one := []byte{1}
		if _, err := c.Write(one); err != nil {
			return err
		}
		_, err := io.ReadFull(c, one)
		return err
	}
	b.Run("Host.Dial", func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			c, err := h.Dial(ctx, v.ID, from, to)
			if err != nil {
				b.Fatal(err)
			}
			if err := exchange(c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("thread-in-namespace", func(b *testing.B) {
		err := h.Do(v.ID, func() error {
			d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(from, 0)), KeepAlive: -1}
			for b.Loop() {
				c, err := d.Dial("tcp", to.String())
				if err != nil {
					return err
				}
				if err := exchange(c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	})
}
