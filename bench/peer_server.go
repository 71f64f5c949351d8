package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
)

// The peer protocol: after an optional PROXY v2 header (stripped by a server run
// with --proxy-v2), the client's first byte selects what the server does:
//
//	'E' echo: after an 'E' back, every byte read is written back (request/response);
//	'H' hold: after an 'H' back, the server waits for one byte or EOF and closes,
//	    so the server side closes first (idle connections);
//	'S' sink: bytes are read and dropped until EOF, then their count goes back as
//	    8 bytes big-endian and the server closes (bulk throughput);
//	'C' connect test: the server answers with its --id byte and closes, so the
//	    server side closes first and the client keeps no TIME_WAIT (connections/s).
//
// A connection that closes before its first byte (a health check) is dropped.
const (
	cmdEcho    = 'E'
	cmdSink    = 'S'
	cmdConnect = 'C'
	cmdHold    = 'H'
)

// proxyV2Sig is the signature that starts a PROXY protocol v2 header.
var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

// runPeer dispatches `strait-bench peer ROLE`.
func runPeer(role string, args []string) error {
	switch role {
	case "server":
		return peerServer(args)
	case "bulk":
		return peerBulk(args)
	case "rr":
		return peerRR(args)
	case "cps":
		return peerCPS(args)
	case "hold":
		return peerHold(args)
	case "echoes":
		return peerEchoes(args)
	}
	return fmt.Errorf("unknown peer role %q", role)
}

// peerServer listens and serves the peer protocol until killed. Once listening it
// prints {"listening":"ADDR"}.
func peerServer(args []string) error {
	fs := flag.NewFlagSet("peer server", flag.ContinueOnError)
	listen := fs.String("listen", ":7000", "address to listen on")
	ppv2 := fs.Bool("proxy-v2", false, "expect and strip a PROXY v2 header on every connection")
	id := fs.String("id", "c", "the byte answered to a connect test")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(*id) != 1 {
		return errors.New("--id must be one byte")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(os.Stdout).Encode(map[string]string{"listening": ln.Addr().String()}); err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		go serveConn(c, *ppv2, (*id)[0])
	}
}

// serveConn serves one connection of the peer protocol.
func serveConn(c net.Conn, ppv2 bool, id byte) {
	defer c.Close()
	if ppv2 {
		if err := skipProxyV2(c); err != nil {
			return
		}
	}
	var cmd [1]byte
	if _, err := io.ReadFull(c, cmd[:]); err != nil {
		return
	}
	switch cmd[0] {
	case cmdEcho:
		buf := make([]byte, 64<<10)
		buf[0] = cmdEcho
		if _, err := c.Write(buf[:1]); err != nil {
			return
		}
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	case cmdSink:
		buf := make([]byte, 256<<10)
		var total uint64
		for {
			n, err := c.Read(buf)
			total += uint64(n)
			if err != nil {
				break
			}
		}
		binary.BigEndian.PutUint64(buf[:8], total)
		c.Write(buf[:8])
	case cmdConnect:
		c.Write([]byte{id})
	case cmdHold:
		if _, err := c.Write(cmd[:]); err == nil {
			c.Read(cmd[:])
		}
	}
}

// skipProxyV2 reads and drops a PROXY v2 header: 12 bytes of signature, version and
// command, family, a 2-byte length, then that many bytes of addresses and TLVs.
func skipProxyV2(r io.Reader) error {
	var h [16]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return err
	}
	if string(h[:12]) != string(proxyV2Sig) || h[12]>>4 != 2 {
		return errors.New("no PROXY v2 header")
	}
	_, err := io.CopyN(io.Discard, r, int64(binary.BigEndian.Uint16(h[14:16])))
	return err
}
