package firewall

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Set and map element changes go to the kernel over netlink, in one nftables
// transaction, without starting nft: adding an endpoint's address to a security
// group's set or to the ingress map costs a few microseconds instead of a
// process. Everything else (tables, chains, rules) is loaded as nft text.

// nftBatch collects element changes of table "inet strait", to send in one
// transaction.
type nftBatch struct {
	msgs [][]byte
}

// maxBatchElements bounds the elements of one message.
const maxBatchElements = 256

// addrs adds (or, with del, deletes) IPv4 addresses of a set.
func (b *nftBatch) addrs(del bool, set string, addrs []netip.Addr) {
	for len(addrs) > 0 {
		n := min(len(addrs), maxBatchElements)
		var elems []byte
		for _, a := range addrs[:n] {
			elems = appendAttr(elems, unix.NFTA_LIST_ELEM|unix.NLA_F_NESTED, elementKey(a))
		}
		b.msgs = append(b.msgs, elemMessage(del, set, elems))
		addrs = addrs[n:]
	}
}

// jumps adds (or deletes) entries of a verdict map: address → jump to chain.
func (b *nftBatch) jumps(del bool, set string, entries []mapEntry) {
	for len(entries) > 0 {
		n := min(len(entries), maxBatchElements)
		var elems []byte
		for _, e := range entries[:n] {
			elem := elementKey(e.addr)
			if !del {
				var verdict []byte
				verdict = appendAttr(verdict, unix.NFTA_VERDICT_CODE, binary.BigEndian.AppendUint32(nil, nftJump))
				verdict = appendAttr(verdict, unix.NFTA_VERDICT_CHAIN, cString(e.chain))
				data := appendAttr(nil, unix.NFTA_DATA_VERDICT|unix.NLA_F_NESTED, verdict)
				elem = appendAttr(elem, unix.NFTA_SET_ELEM_DATA|unix.NLA_F_NESTED, data)
			}
			elems = appendAttr(elems, unix.NFTA_LIST_ELEM|unix.NLA_F_NESTED, elem)
		}
		b.msgs = append(b.msgs, elemMessage(del, set, elems))
		entries = entries[n:]
	}
}

// mapEntry is an element of the ingress map.
type mapEntry struct {
	addr  netip.Addr
	chain string
}

// elementKey is the key attribute of an IPv4 address element.
func elementKey(a netip.Addr) []byte {
	ip := a.As4()
	return appendAttr(nil, unix.NFTA_SET_ELEM_KEY|unix.NLA_F_NESTED, appendAttr(nil, unix.NFTA_DATA_VALUE, ip[:]))
}

// elemMessage is a NEWSETELEM or DELSETELEM message (without its netlink header)
// for a set of table "inet strait".
func elemMessage(del bool, set string, elems []byte) []byte {
	typ := uint16(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWSETELEM)
	flags := uint16(unix.NLM_F_REQUEST | unix.NLM_F_ACK | unix.NLM_F_CREATE)
	if del {
		typ = unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_DELSETELEM
		flags = unix.NLM_F_REQUEST | unix.NLM_F_ACK
	}
	body := nfgenmsg(unix.NFPROTO_INET, 0)
	body = appendAttr(body, unix.NFTA_SET_ELEM_LIST_TABLE, cString(nftTableName))
	body = appendAttr(body, unix.NFTA_SET_ELEM_LIST_SET, cString(set))
	body = appendAttr(body, unix.NFTA_SET_ELEM_LIST_ELEMENTS|unix.NLA_F_NESTED, elems)
	return nlMessage(typ, flags, body)
}

// send commits the batch in the calling thread's network namespace and waits for
// the kernel's answer to every message: all changes are made, or none.
func (b *nftBatch) send() error {
	if len(b.msgs) == 0 {
		return nil
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return fmt.Errorf("nftables netlink socket: %w", err)
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval((5 * time.Second).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return err
	}
	// Errors without the failed request echoed back: answers stay small.
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	seq := uint32(time.Now().UnixNano())
	var out []byte
	put := func(m []byte) {
		binary.NativeEndian.PutUint32(m[8:], seq)
		seq++
		out = append(out, m...)
	}
	batch := nfgenmsg(unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES)
	put(nlMessage(unix.NFNL_MSG_BATCH_BEGIN, unix.NLM_F_REQUEST, batch))
	first := seq
	for _, m := range b.msgs {
		put(m)
	}
	last := seq - 1
	put(nlMessage(unix.NFNL_MSG_BATCH_END, unix.NLM_F_REQUEST, batch))
	if err := unix.Sendto(fd, out, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("nftables netlink send: %w", err)
	}
	acked := map[uint32]bool{}
	buf := make([]byte, 64<<10)
	for len(acked) < len(b.msgs) {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return fmt.Errorf("nftables netlink receive: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("nftables netlink receive: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Type != unix.NLMSG_ERROR || m.Header.Seq < first || m.Header.Seq > last || len(m.Data) < 4 {
				continue
			}
			if code := int32(binary.NativeEndian.Uint32(m.Data)); code != 0 {
				return fmt.Errorf("nftables: %w", syscall.Errno(-code))
			}
			acked[m.Header.Seq] = true
		}
	}
	return nil
}

// nftJump is the verdict code of a jump (NFT_JUMP, -3) as the kernel reads it.
const nftJump = 1<<32 + unix.NFT_JUMP

// nftTableName is the name of Strait's table in every namespace.
const nftTableName = "strait"

// nfgenmsg is the netfilter header of a message.
func nfgenmsg(family uint8, resID uint16) []byte {
	return binary.BigEndian.AppendUint16([]byte{family, unix.NFNETLINK_V0}, resID)
}

// nlMessage prefixes body with a netlink header (sequence number 0: send sets it).
func nlMessage(typ, flags uint16, body []byte) []byte {
	m := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
	binary.NativeEndian.PutUint32(m[0:], uint32(unix.NLMSG_HDRLEN+len(body)))
	binary.NativeEndian.PutUint16(m[4:], typ)
	binary.NativeEndian.PutUint16(m[6:], flags)
	return append(m, body...)
}

// appendAttr appends a netlink attribute, padded to 4 bytes. Attributes are
// short: maxBatchElements keeps a message's element list far below 64 KiB.
func appendAttr(b []byte, typ uint16, val []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(unix.NLA_HDRLEN+len(val)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, val...)
	for len(b)%unix.NLA_ALIGNTO != 0 {
		b = append(b, 0)
	}
	return b
}

// cString is s NUL-terminated, as netlink string attributes are.
func cString(s string) []byte { return append([]byte(s), 0) }
