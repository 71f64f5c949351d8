package firewall

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// A table is described once, as chains of nftRule, and that description is
// rendered twice: as nft text (text, the golden files and Fake's rulesets) and
// as the google/nftables expressions NFTables loads (exprs). Each match knows
// both of its forms, so the two cannot drift apart.

// nftRule is a rule of a chain: all its matches must hold for its verdict to
// apply. A security group rule that nft cannot express is only a comment
// (skipped), and loads nothing.
type nftRule struct {
	skipped string
	matches []match
	verdict verdict
}

// verdict ends a rule: accept, drop, goto a chain, or look the destination
// address up in a verdict map (vmap).
type verdict struct {
	kind  expr.VerdictKind
	chain string // goto's target
	vmap  string // the verdict map whose element for `ip daddr` decides
}

var (
	acceptVerdict = verdict{kind: expr.VerdictAccept}
	dropVerdict   = verdict{kind: expr.VerdictDrop}
)

// match is one condition of a rule.
type match interface {
	text() string
	// exprs loads the value it matches into register 1 and compares it; sets
	// it needs (anonymous ones) are created through l.
	exprs(l *loader) []expr.Any
	// ipv4 reports whether the match needs `meta nfproto ipv4` before it in
	// table family inet (as nft adds the dependency, once a rule).
	ipv4() bool
}

func (r nftRule) text() string {
	if r.skipped != "" {
		return "# " + r.skipped
	}
	parts := make([]string, 0, len(r.matches)+1)
	for _, m := range r.matches {
		parts = append(parts, m.text())
	}
	return strings.Join(append(parts, r.verdict.text()), " ")
}

func (v verdict) text() string {
	switch {
	case v.vmap != "":
		return "ip daddr vmap @" + v.vmap
	case v.kind == expr.VerdictAccept:
		return "accept"
	case v.kind == expr.VerdictDrop:
		return "drop"
	case v.kind == expr.VerdictGoto:
		return "goto " + v.chain
	}
	return fmt.Sprintf("verdict %d", v.kind)
}

// exprs is the rule as the library's expressions; nil for a skipped rule.
func (r nftRule) exprs(l *loader) []expr.Any {
	if r.skipped != "" {
		return nil
	}
	var out []expr.Any
	ipv4 := false
	needIPv4 := func() {
		if !ipv4 {
			out = append(out, metaCmp(expr.MetaKeyNFPROTO, []byte{nfprotoIPv4})...)
			ipv4 = true
		}
	}
	for _, m := range r.matches {
		if m.ipv4() {
			needIPv4()
		}
		out = append(out, m.exprs(l)...)
	}
	if r.verdict.vmap != "" {
		needIPv4()
		return append(out,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: daddrOffset, Len: 4},
			&expr.Lookup{SourceRegister: 1, DestRegister: 0, IsDestRegSet: true, SetName: r.verdict.vmap, SetID: l.setID(r.verdict.vmap)})
	}
	return append(out, &expr.Verdict{Kind: r.verdict.kind, Chain: r.verdict.chain})
}

// Header offsets and values the matches load and compare.
const (
	saddrOffset = 12 // IPv4 header
	daddrOffset = 16
	dportOffset = 2 // TCP and UDP header
	nfprotoIPv4 = 2 // NFPROTO_IPV4
	ctEstRel    = 2 | 4
	loIfindex   = 1 // lo is the first interface of every namespace
)

// metaCmp loads a meta key and compares it to val.
func metaCmp(key expr.MetaKey, val []byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: val},
	}
}

// ctEstablished is `ct state established,related`.
type ctEstablished struct{}

func (ctEstablished) text() string { return "ct state established,related" }
func (ctEstablished) ipv4() bool   { return false }
func (ctEstablished) exprs(*loader) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: nativeUint32(ctEstRel), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// loopback is `iif "lo"`, or `oif "lo"` when out.
type loopback struct{ out bool }

func (m loopback) text() string {
	if m.out {
		return `oif "lo"`
	}
	return `iif "lo"`
}
func (loopback) ipv4() bool { return false }
func (m loopback) exprs(*loader) []expr.Any {
	key := expr.MetaKeyIIF
	if m.out {
		key = expr.MetaKeyOIF
	}
	return metaCmp(key, nativeUint32(loIfindex))
}

// anyIPv4 is `meta nfproto ipv4`: its expressions are the dependency itself.
type anyIPv4 struct{}

func (anyIPv4) text() string             { return "meta nfproto ipv4" }
func (anyIPv4) ipv4() bool               { return true }
func (anyIPv4) exprs(*loader) []expr.Any { return nil }

// addrMatch matches the source (or, with dst, destination) address against a
// named set, or IPv4 prefixes (masked, sorted, none containing another).
type addrMatch struct {
	dst      bool
	set      string
	prefixes []netip.Prefix
}

func (m addrMatch) text() string {
	dir := "ip saddr "
	if m.dst {
		dir = "ip daddr "
	}
	switch {
	case m.set != "":
		return dir + "@" + m.set
	case len(m.prefixes) == 1:
		return dir + prefixString(m.prefixes[0])
	}
	s := make([]string, len(m.prefixes))
	for i, p := range m.prefixes {
		s[i] = prefixString(p)
	}
	return dir + "{ " + strings.Join(s, ", ") + " }"
}

func (addrMatch) ipv4() bool { return true }

func (m addrMatch) exprs(l *loader) []expr.Any {
	offset := uint32(saddrOffset)
	if m.dst {
		offset = daddrOffset
	}
	load := func(n uint32) *expr.Payload {
		return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: n}
	}
	switch {
	case m.set != "":
		return []expr.Any{load(4), &expr.Lookup{SourceRegister: 1, SetName: m.set, SetID: l.setID(m.set)}}
	case len(m.prefixes) == 1:
		// As nft: compare the prefix's whole bytes, masking a partial one.
		p := m.prefixes[0]
		addr := p.Addr().As4()
		n := uint32(p.Bits()+7) / 8
		if p.Bits()%8 == 0 {
			return []expr.Any{load(n), &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr[:n]}}
		}
		var mb [4]byte
		for i := range p.Bits() {
			mb[i/8] |= 0x80 >> (i % 8)
		}
		return []expr.Any{
			load(4),
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mb[:], Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr[:]},
		}
	}
	set := l.prefixSet(m.prefixes)
	return []expr.Any{load(4), &expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID}}
}

// l4proto is `meta l4proto <protocol>`, or a set of protocols.
type l4proto []uint8

// protoNames are the protocols nft names in rules.
var protoNames = map[uint8]string{1: "icmp", 6: "tcp", 17: "udp"}

func protoName(p uint8) string {
	if name, ok := protoNames[p]; ok {
		return name
	}
	return strconv.Itoa(int(p))
}

func (m l4proto) text() string {
	if len(m) == 1 {
		return "meta l4proto " + protoName(m[0])
	}
	s := make([]string, len(m))
	for i, p := range m {
		s[i] = protoName(p)
	}
	return "meta l4proto { " + strings.Join(s, ", ") + " }"
}

func (l4proto) ipv4() bool { return false }

func (m l4proto) exprs(l *loader) []expr.Any {
	if len(m) == 1 {
		return metaCmp(expr.MetaKeyL4PROTO, []byte{m[0]})
	}
	elems := make([]elementKey, len(m))
	for i, p := range m {
		elems[i] = elementKey{key: []byte{p}}
	}
	set := l.anonymousSet(nftables.TypeInetProto, false, elems)
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
	}
}

// dport matches a destination port range of TCP or UDP (proto 6 or 17), or of
// whatever transport header (proto 0, `th dport`).
type dport struct {
	proto    uint8
	from, to uint16
}

func (m dport) text() string {
	name := "th"
	if m.proto != 0 {
		name = protoName(m.proto)
	}
	if m.from == m.to {
		return fmt.Sprintf("%s dport %d", name, m.from)
	}
	return fmt.Sprintf("%s dport %d-%d", name, m.from, m.to)
}

func (dport) ipv4() bool { return false }

func (m dport) exprs(*loader) []expr.Any {
	var out []expr.Any
	if m.proto != 0 {
		out = metaCmp(expr.MetaKeyL4PROTO, []byte{m.proto})
	}
	out = append(out, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: dportOffset, Len: 2})
	if m.from == m.to {
		return append(out, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: bigUint16(m.from)})
	}
	return append(out,
		&expr.Cmp{Op: expr.CmpOpGte, Register: 1, Data: bigUint16(m.from)},
		&expr.Cmp{Op: expr.CmpOpLte, Register: 1, Data: bigUint16(m.to)})
}

// icmpType is `icmp type <typ>`, with `icmp code <code>` unless code is -1.
type icmpType struct {
	typ, code int
}

func (m icmpType) text() string {
	if m.code < 0 {
		return fmt.Sprintf("icmp type %d", m.typ)
	}
	return fmt.Sprintf("icmp type %d icmp code %d", m.typ, m.code)
}

func (icmpType) ipv4() bool { return true }

func (m icmpType) exprs(*loader) []expr.Any {
	out := metaCmp(expr.MetaKeyL4PROTO, []byte{1})
	val := []byte{byte(m.typ)} // type and code are the first two bytes of the header
	if m.code >= 0 {
		val = append(val, byte(m.code))
	}
	return append(out,
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: uint32(len(val))},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: val})
}

func nativeUint32(v uint32) []byte {
	return binary.NativeEndian.AppendUint32(nil, v)
}

func bigUint16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

// sortedRules sorts rules by their text and drops duplicates: all the rules of
// a security group accept, so their order does not matter.
func sortedRules(rules []nftRule) []nftRule {
	slices.SortFunc(rules, func(a, b nftRule) int { return strings.Compare(a.text(), b.text()) })
	return slices.CompactFunc(rules, func(a, b nftRule) bool { return a.text() == b.text() })
}
