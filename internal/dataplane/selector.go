package dataplane

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Selector chooses the target of a flow among candidates. Each candidate is a
// stable key of one target (the same target keeps its key across
// reconfigurations), so that a selector can keep flows on their targets when
// others come and go.
type Selector interface {
	// Pick returns the index in candidates (len > 0) of the target for flow.
	Pick(flow uint64, candidates []uint64) int
}

// Rendezvous is highest-random-weight hashing: every (flow, target) pair gets a
// pseudo-random score and the flow goes to the target with the highest one.
// Adding a target moves only the flows it wins (about 1/n of them) and removing
// one moves only its own flows; picking again without a failed target yields the
// flow's next choice. Cost: one mix per candidate, no allocation.
type Rendezvous struct{}

// Pick implements Selector.
func (Rendezvous) Pick(flow uint64, candidates []uint64) int {
	best, bestScore := 0, uint64(0)
	for i, k := range candidates {
		if s := mix64(flow ^ k); i == 0 || s > bestScore {
			best, bestScore = i, s
		}
	}
	return best
}

// mix64 is the finalizer of MurmurHash3: a bijection that spreads every input bit
// over the whole output.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// flowHash hashes a connection's 4-tuple (client address and port, listener
// address and port). It is deterministic across restarts and allocation-free:
// the addresses are folded into two words, multiplied into 128 bits and mixed.
func flowHash(client, listener netip.AddrPort) uint64 {
	c := client.Addr().Unmap().As16()
	l := listener.Addr().Unmap().As16()
	ports := uint64(client.Port())<<16 | uint64(listener.Port())
	a := binary.LittleEndian.Uint64(c[:8]) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(l[:8]), 29)
	b := binary.LittleEndian.Uint64(c[8:]) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(l[8:]), 29) ^ ports<<32
	hi, lo := bits.Mul64(a^0x9e3779b97f4a7c15, b^0xbf58476d1ce4e5b9)
	return mix64(hi ^ lo ^ ports)
}

// keyHash is the stable selection key of a target: a hash of its ID and address.
func keyHash(id string, addr netip.AddrPort) uint64 {
	// FNV-1a over the ID, then the address and port mixed in.
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	a := addr.Addr().Unmap().As16()
	h = mix64(h ^ binary.LittleEndian.Uint64(a[:8]))
	h = mix64(h ^ binary.LittleEndian.Uint64(a[8:]))
	return mix64(h ^ uint64(addr.Port()))
}
