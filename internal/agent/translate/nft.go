package translate

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// TableName is the table the kernel path keeps in each VPC namespace it uses.
const TableName = "strait_transit"

// TransitLink is the name of a VPC namespace's link to the transit namespace
// (package netns creates it).
const TransitLink = "transit"

// Registers, as nft numbers them: 16-byte registers 1–3, and the 4-byte
// registers 9 and 13 (the second word of registers 1 and 2).
const (
	reg1   = unix.NFT_REG_1
	reg2   = unix.NFT_REG_2
	reg1w1 = unix.NFT_REG32_01
	reg2w1 = unix.NFT_REG32_05
)

// Names of the table's fixed maps.
const (
	mapEntries = "entries" // ENI . port → goto the entry's chain
	mapExits   = "exits"   // node transit address . port → goto the exit's chain
	mapSNAT    = "snat"    // mark of a node transit address → node ENI address
	mapCounted = "counted" // mark of an ENI address → jump to its counting chain
)

// Flows SNATed to a node's ENI address keep their source port where the
// address and port are free (conntrack picks another where not: also against
// the relay's and the health checks' own connections from that address, whose
// clashes it resolves the same way). Keeping the client's port keeps a
// target's view of a client's successive connections consistent: a remapped
// port would meet the target's TIME_WAIT of another client's connection with
// an unrelated sequence number, and the SYN would be answered with an ACK
// instead of a SYN-ACK (a retransmit, a second lost).

var (
	addrPortType = nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetService)
	table        = &nftables.Table{Family: nftables.TableFamilyIPv4, Name: TableName}
)

// fixedSets are the table's maps that always exist.
func fixedSets() []*nftables.Set {
	return []*nftables.Set{
		{Table: table, Name: mapEntries, KeyType: addrPortType, DataType: nftables.TypeVerdict, IsMap: true, Concatenation: true},
		{Table: table, Name: mapExits, KeyType: addrPortType, DataType: nftables.TypeVerdict, IsMap: true, Concatenation: true},
		{Table: table, Name: mapSNAT, KeyType: nftables.TypeMark, DataType: nftables.TypeIPAddr, IsMap: true},
		{Table: table, Name: mapCounted, KeyType: nftables.TypeMark, DataType: nftables.TypeVerdict, IsMap: true},
	}
}

// slotSet is an exit's slot map: slot number → target address . port.
func slotSet(node netip.AddrPort) *nftables.Set {
	return &nftables.Set{Table: table, Name: "slots_" + key(node), KeyType: nftables.TypeMark, DataType: addrPortType, IsMap: true}
}

// Chain names: after the address and port they serve, in hex.
func entryChain(eni netip.AddrPort) string { return "entry_" + key(eni) }
func exitChain(node netip.AddrPort) string { return "exit_" + key(node) }
func countChain(eni netip.Addr) string     { return "count_" + hexAddr(eni) }

// Counter names of an ENI: new flows, bytes in (original direction), bytes out.
func counterNames(eni netip.Addr) (flows, in, out string) {
	h := hexAddr(eni)
	return "flows_" + h, "in_" + h, "out_" + h
}

// timeoutName names the conntrack timeout policy of an idle timeout.
func timeoutName(idle time.Duration) string { return "idle_" + strconv.Itoa(int(idle/time.Second)) }

func key(ap netip.AddrPort) string { return fmt.Sprintf("%s_%04x", hexAddr(ap.Addr()), ap.Port()) }
func hexAddr(a netip.Addr) string {
	b := a.As4()
	return fmt.Sprintf("%02x%02x%02x%02x", b[0], b[1], b[2], b[3])
}

// addrPortKey is an address . port as a concatenated set key or value.
func addrPortKey(ap netip.AddrPort) []byte {
	b := make([]byte, 8)
	a := ap.Addr().As4()
	copy(b, a[:])
	binary.BigEndian.PutUint16(b[4:], ap.Port())
	return b
}

func addrBytes(a netip.Addr) []byte { b := a.As4(); return b[:] }

// A translated flow's conntrack mark is the address its translation started
// from, as a number: the endpoint ENI address in the consumer namespace, the
// node's transit address in the provider namespace. Postrouting finds the
// node's ENI address by it, and forward an ENI's counters.
func mark(a netip.Addr) []byte {
	b := a.As4()
	return binaryutil.NativeEndian.PutUint32(binary.BigEndian.Uint32(b[:]))
}

// setMark sets the flow's conntrack mark to a's.
func setMark(a netip.Addr) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: reg1, Data: mark(a)},
		&expr.Ct{Key: expr.CtKeyMARK, Register: reg1, SourceRegister: true},
	}
}

func loadMark() *expr.Ct { return &expr.Ct{Key: expr.CtKeyMARK, Register: reg1} }

func ifname(n string) []byte { b := make([]byte, 16); copy(b, n); return b }

// baseChains are the table's hooks.
func baseChains() (pre, post, fwd *nftables.Chain) {
	accept := nftables.ChainPolicyAccept
	pre = &nftables.Chain{Name: "prerouting", Table: table, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest, Policy: &accept}
	post = &nftables.Chain{Name: "postrouting", Table: table, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource, Policy: &accept}
	fwd = &nftables.Chain{Name: "forward", Table: table, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept}
	return pre, post, fwd
}

func tcp() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{unix.IPPROTO_TCP}},
	}
}

func iif(name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: ifname(name)},
	}
}

func oif(name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: ifname(name)},
	}
}

// ctBit matches a conntrack key (state or status) with bit set.
func ctBit(k expr.CtKey, bit uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: k, Register: reg1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(bit), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: binaryutil.NativeEndian.PutUint32(0)},
	}
}

// ctStatusDNAT is IPS_DST_NAT, the status bit of a destination-translated flow.
const ctStatusDNAT = 1 << 5

func dnatted() []expr.Any { return ctBit(expr.CtKeySTATUS, ctStatusDNAT) }

func verdict(k expr.VerdictKind) *expr.Verdict { return &expr.Verdict{Kind: k} }

func join(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// baseRules are the rules of the hooks, in order.
func baseRules(pre, post, fwd *nftables.Chain) []*nftables.Rule {
	daddrDport := []expr.Any{
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Payload{DestRegister: reg1w1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
	}
	vmap := func(set string) *expr.Lookup {
		return &expr.Lookup{SourceRegister: reg1, DestRegister: 0, IsDestRegSet: true, SetName: set}
	}
	return []*nftables.Rule{
		// Prerouting: endpoint entries, then node exits.
		{Table: table, Chain: pre, Exprs: join(tcp(), daddrDport, []expr.Any{vmap(mapEntries)})},
		{Table: table, Chain: pre, Exprs: join(tcp(), daddrDport, []expr.Any{vmap(mapExits)})},
		// Postrouting: entries leave by the transit link from the VPC's transit
		// address; exits reach their target from the node's ENI address.
		{Table: table, Chain: post, Exprs: join(oif(TransitLink), dnatted(), []expr.Any{&expr.Masq{}})},
		{Table: table, Chain: post, Exprs: join(iif(TransitLink), dnatted(), tcp(), []expr.Any{
			loadMark(),
			&expr.Lookup{SourceRegister: reg1, DestRegister: reg1, IsDestRegSet: true, SetName: mapSNAT},
			&expr.NAT{Type: expr.NATTypeSourceNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: reg1, RegAddrMax: reg1},
		})},
		// Forward: count endpoint flows; only translated flows cross the
		// transit link; a TCP packet from it that belongs to no flow is reset.
		{Table: table, Chain: fwd, Exprs: []expr.Any{loadMark(), vmap(mapCounted)}},
		{Table: table, Chain: fwd, Exprs: join(iif(TransitLink), dnatted(), []expr.Any{verdict(expr.VerdictAccept)})},
		{Table: table, Chain: fwd, Exprs: join(oif(TransitLink), dnatted(), []expr.Any{verdict(expr.VerdictAccept)})},
		{Table: table, Chain: fwd, Exprs: join(iif(TransitLink), tcp(), []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_TCP_RST}})},
		{Table: table, Chain: fwd, Exprs: join(iif(TransitLink), []expr.Any{verdict(expr.VerdictDrop)})},
		{Table: table, Chain: fwd, Exprs: join(oif(TransitLink), []expr.Any{verdict(expr.VerdictDrop)})},
	}
}

// timeoutObj is the conntrack timeout policy of an idle timeout: established
// TCP flows idle that long expire.
func timeoutObj(idle time.Duration) *nftables.NamedObj {
	return &nftables.NamedObj{Table: table, Name: timeoutName(idle), Type: nftables.ObjTypeCtTimeout, Obj: &expr.CtTimeout{
		L3Proto: unix.NFPROTO_IPV4, L4Proto: unix.IPPROTO_TCP,
		Policy: expr.CtStatePolicyTimeout{expr.CtStateTCPESTABLISHED: uint32(idle / time.Second)},
	}}
}

func setTimeout(idle time.Duration) *expr.Objref {
	return &expr.Objref{Type: int(nftables.ObjTypeCtTimeout), Name: timeoutName(idle)}
}

// entryRules DNAT an entry's flows to its node.
func entryRules(c *nftables.Chain, e Entry) []*nftables.Rule {
	return []*nftables.Rule{
		{Table: table, Chain: c, Exprs: join([]expr.Any{setTimeout(e.Idle)}, setMark(e.ENI.Addr()))},
		{Table: table, Chain: c, Exprs: join(tcp(), []expr.Any{
			&expr.Immediate{Register: reg1, Data: addrBytes(e.Node.Addr())},
			&expr.Immediate{Register: reg2, Data: binaryutil.BigEndian.PutUint16(e.Node.Port())},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: reg1, RegAddrMax: reg1, RegProtoMin: reg2, RegProtoMax: reg2, Specified: true},
		})},
	}
}

// exitRules DNAT an exit's flows to the target of their hash slot. A flow whose
// slot is empty (no target) matches nothing and is reset in forward.
func exitRules(c *nftables.Chain, x Exit) []*nftables.Rule {
	return []*nftables.Rule{
		{Table: table, Chain: c, Exprs: join([]expr.Any{setTimeout(x.Idle)}, setMark(x.Node.Addr()))},
		{Table: table, Chain: c, Exprs: join(tcp(), []expr.Any{
			&expr.Payload{DestRegister: reg2, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Payload{DestRegister: reg2w1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
			&expr.Hash{SourceRegister: reg2, DestRegister: reg1, Length: 8, Modulus: Slots, Type: expr.HashTypeJenkins},
			&expr.Lookup{SourceRegister: reg1, DestRegister: reg1, IsDestRegSet: true, SetName: slotSet(x.Node).Name},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: reg1, RegAddrMax: reg1, RegProtoMin: reg1w1, RegProtoMax: reg1w1, Specified: true},
		})},
	}
}

// countRules count an ENI's new flows and its bytes both ways.
func countRules(c *nftables.Chain, eni netip.Addr) []*nftables.Rule {
	flows, in, out := counterNames(eni)
	counter := func(name string) *expr.Objref { return &expr.Objref{Type: int(nftables.ObjTypeCounter), Name: name} }
	direction := func(d byte) []expr.Any {
		return []expr.Any{
			&expr.Ct{Key: expr.CtKeyDIRECTION, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{d}},
		}
	}
	return []*nftables.Rule{
		{Table: table, Chain: c, Exprs: join(ctBit(expr.CtKeySTATE, expr.CtStateBitNEW), []expr.Any{counter(flows)})},
		{Table: table, Chain: c, Exprs: join(direction(0), []expr.Any{counter(in)})},
		{Table: table, Chain: c, Exprs: join(direction(1), []expr.Any{counter(out)})},
	}
}

func slotKey(i int) []byte { return binaryutil.NativeEndian.PutUint32(uint32(i)) }
