package dataplane

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"
	"golang.org/x/sys/unix"
)

// Relayed across hosts: an endpoint ENI whose load balancer has no node on
// its host (Entry.Remote) is served by that host's relay, which dials the
// node's transit address on the other host and opens the connection with a
// PROXY v2 header of its own (the client, the ENI, the endpoint ID). The
// node's host accepts it on a listener bound to the transit link
// (Entry.Transit, ListenDevice), reads that header and routes the connection
// as if it had arrived at the ENI: same node zone choice, same target
// choice by the client's flow, and the target's own header (when its group
// asks for PROXY v2) says what the consumer's side saw. The header is
// trusted only because nothing but the transit link reaches that listener,
// and only from other hosts' transit addresses (Options.TransitPeers).

// relayedHeaderMax bounds the header a relayed connection opens with: the
// fixed part, two IPv6 addresses with ports and an AWS TLV of an endpoint ID
// up to 255 bytes. Anything longer is not another host's relay.
const relayedHeaderMax = 16 + 36 + 3 + 1 + 255

// relayedHeader is what another host's relay says of a connection.
type relayedHeader struct {
	client     netip.AddrPort // the consumer's client
	eni        netip.AddrPort // the endpoint ENI and listener port it connected to
	endpointID string
}

var errNotRelayed = errors.New("not a PROXY v2 header of another host's relay")

// parseRelayedHeader parses b, exactly one PROXY v2 header, with
// go-proxyproto: version 2, command PROXY, TCP over IPv4 or IPv6, and the AWS
// TLV with an endpoint ID.
func parseRelayedHeader(b []byte) (relayedHeader, error) {
	h, err := proxyproto.Read(bufio.NewReaderSize(bytes.NewReader(b), max(len(b), 16)))
	if err != nil {
		return relayedHeader{}, fmt.Errorf("%w: %w", errNotRelayed, err)
	}
	if h.Version != 2 || h.Command != proxyproto.PROXY {
		return relayedHeader{}, fmt.Errorf("%w: version %d, command %v", errNotRelayed, h.Version, h.Command)
	}
	src, dst, ok := h.TCPAddrs()
	if !ok {
		return relayedHeader{}, fmt.Errorf("%w: not TCP (%v)", errNotRelayed, h.TransportProtocol)
	}
	tlvs, err := h.TLVs()
	if err != nil {
		return relayedHeader{}, fmt.Errorf("%w: %w", errNotRelayed, err)
	}
	id := tlvparse.FindAWSVPCEndpointID(tlvs)
	if id == "" {
		return relayedHeader{}, fmt.Errorf("%w: no endpoint ID", errNotRelayed)
	}
	unmap := func(ap netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()) }
	return relayedHeader{client: unmap(src.AddrPort()), eni: unmap(dst.AddrPort()), endpointID: id}, nil
}

// headerReader reads the PROXY v2 header a relayed connection opens with
// from its non-blocking socket, never a byte past it: what follows is the
// client's, for the target.
type headerReader struct {
	buf [relayedHeaderMax]byte
	got int
}

// read reads what is there of the header: done once it is whole
// (r.buf[:r.got]). A stream that is not a PROXY v2 header, or a longer one,
// fails as soon as its fixed part is in.
func (r *headerReader) read(fd int) (done bool, err error) {
	for {
		need := 16
		if r.got >= need {
			if !bytes.Equal(r.buf[:12], ppSignature[:]) {
				return false, fmt.Errorf("%w: no PROXY v2 signature", errNotRelayed)
			}
			need += int(binary.BigEndian.Uint16(r.buf[14:16]))
			if need > len(r.buf) {
				return false, fmt.Errorf("%w: %d bytes long", errNotRelayed, need)
			}
			if r.got == need {
				return true, nil
			}
		}
		n, err := rawRead(fd, r.buf[r.got:need])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return false, nil
		case err != nil:
			return false, os.NewSyscallError("read", err)
		case n == 0:
			return false, fmt.Errorf("%w: %w after %d bytes", errNotRelayed, io.ErrUnexpectedEOF, r.got)
		}
		r.got += n
	}
}

// await reads the header from fd, waiting in Go's poller (on a duplicate,
// as AwaitConnect does) until it is whole, fails, or ctx ends.
func (r *headerReader) await(ctx context.Context, fd int) error {
	var rerr error
	err := awaitFD(ctx, fd, false, func() bool {
		var done bool
		done, rerr = r.read(fd)
		return done || rerr != nil
	})
	if err != nil {
		return fmt.Errorf("%w: none within the wait: %w", errNotRelayed, err)
	}
	return rerr
}

// fromTransit reads the header of a connection relayed from another host
// (Entry.Transit) and routes it by what the header says. A header still on
// its way is waited for on a new goroutine, at most the dial timeout.
func (c *incoming) fromTransit() {
	r := &headerReader{}
	if !c.p.opts.TransitPeers.Contains(c.client.Addr().Unmap()) {
		c.relayed(r, fmt.Errorf("%w: from %s, not another host's transit address (%s)", errNotRelayed, c.client.Addr(), c.p.opts.TransitPeers))
		return
	}
	done, err := r.read(c.cfd)
	if err != nil || done {
		c.relayed(r, err)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(c.p.ctx, c.p.dialTimeout)
		err := r.await(ctx, c.cfd)
		cancel()
		c.relayed(r, err)
	}()
}

// relayed routes a connection whose header r read (err: why not) as its
// consumer's side saw it, or closes it when the header is not valid.
func (c *incoming) relayed(r *headerReader, err error) {
	var h relayedHeader
	if err == nil {
		h, err = parseRelayedHeader(r.buf[:r.got])
	}
	if err != nil {
		c.p.badHeaders.add(c.p.log, c.client, c.e, err)
		c.close()
		return
	}
	c.client = h.client
	c.toNode(c.p.table.Load(), h.eni, h.endpointID)
}

// badHeaders counts the connections from the transit link closed for want
// of a valid header, and logs them at most once per refusalLogInterval.
type badHeaders struct {
	total   atomic.Uint64
	logged  atomic.Uint64 // total at the last log
	lastLog atomic.Int64  // unix nanoseconds
}

func (b *badHeaders) add(log *slog.Logger, client netip.AddrPort, e Entry, err error) {
	total := b.total.Add(1)
	now := time.Now().UnixNano()
	last := b.lastLog.Load()
	if now-last < int64(refusalLogInterval) || !b.lastLog.CompareAndSwap(last, now) {
		return
	}
	log.Warn("connections from the transit link closed: no valid PROXY v2 header of another host's relay",
		"closed", total-b.logged.Swap(total), "closed_total", total, "last_from", client.String(),
		"load_balancer", e.LoadBalancer, "port", e.Port, "error", err)
}

// toRemote relays an endpoint ENI's connection to its load balancer's node
// on another host (Entry.Remote): it dials the node's transit address from
// the consumer VPC's namespace and sends the header that tells the node's
// relay the client, the ENI (local) and the endpoint ID. The connection
// counts as the endpoint's and its service's traffic, as on one host.
func (c *incoming) toRemote(local netip.AddrPort) {
	p, e := c.p, c.e
	c.lis = &listenerRoute{lb: &lbRoute{arn: e.LoadBalancer, vpcID: e.Remote.VPC}, port: e.Port, idle: e.Remote.Idle}
	h, err := AppendProxyHeaderV2(make([]byte, 0, MaxProxyHeaderV2Len(len(e.EndpointID))), c.client, local, e.EndpointID)
	if err != nil {
		c.reject("PROXY v2 header", "error", err)
		return
	}
	c.remote = true
	c.route = route{header: h, holdHeader: len(p.relays.pairs) > 0}
	ref := &targetRef{key: targetKey{addr: e.Remote.Node}, label: "node " + e.Remote.Node.String()}
	// From the namespace's own choice of source: the consumer VPC's transit
	// address, which the transit namespace translates to this host's.
	fd, done, err := p.opts.Dial(e.Remote.VPC, netip.Addr{}, e.Remote.Node)
	if err != nil {
		c.reject("load balancer node on another host not reachable", "node", e.Remote.Node.String(), "error", err)
		return
	}
	connected := func(fd int) {
		if err := sendHeader(fd, c.header, c.holdHeader); err != nil {
			unix.Close(fd)
			c.reject("PROXY v2 header to the node on another host", "node", e.Remote.Node.String(), "error", err)
			return
		}
		c.start(fd, ref)
	}
	if done {
		connected(fd)
		return
	}
	if !p.takeFDs(1) {
		unix.Close(fd)
		c.refuse()
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(p.ctx, p.dialTimeout)
		err := AwaitConnect(ctx, fd)
		cancel()
		p.giveFDs(1)
		if err != nil {
			unix.Close(fd)
			c.reject("load balancer node on another host not reachable", "node", e.Remote.Node.String(), "error", err)
			return
		}
		connected(fd)
	}()
}
