package network

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// Transit addresses (model.TransitRange) are the kernel forwarding path's: every
// VPC and every load balancer node holds one, unique in the region. Each
// allocated address is a record of its own (model.KindTransitAddress, keyed by
// the address), written in the transaction that creates its holder; a cursor
// record makes allocation next-fit: an address freed by a deleted VPC or node
// is handed out again only once the cursor has gone round the whole range, long
// after the kernel forgot the flows it carried. Every allocation reads and
// writes the cursor, so two concurrent allocations conflict and one re-runs.

// transitCursorKey is the store key of the allocation cursor (transitCursor).
const transitCursorKey = "transitcursor/next"

// transitCursor is where the next allocation starts looking.
type transitCursor struct {
	Next string `json:"next"`
}

// transitFirst and transitLast bound the allocatable addresses: TransitRange
// without TransitFixed and without the range's last address.
var (
	transitFirst = u32(model.TransitFixed.Addr()) + subnetSize(model.TransitFixed)
	transitLast  = u32(model.TransitRange.Addr()) + subnetSize(model.TransitRange) - 2
)

// transitPrefix is the store key prefix of the transit address records.
const transitPrefix = model.KindTransitAddress + "/"

// transitKey is the store key of a transit address record: the address as
// eight hex digits, so that the records sort in numeric order.
func transitKey(n uint32) string { return fmt.Sprintf("%s%08x", transitPrefix, n) }

// transitOfKey reads the address back from a transitKey.
func transitOfKey(k string) (uint32, bool) {
	hexd, ok := strings.CutPrefix(k, transitPrefix)
	if !ok || len(hexd) != 8 {
		return 0, false
	}
	n, err := strconv.ParseUint(hexd, 16, 32)
	return uint32(n), err == nil
}

// TxAllocateTransit allocates, inside tx, a free transit address to owner (a VPC
// ID or a load balancer node's ENI ID) and returns it.
func TxAllocateTransit(tx *store.Tx, owner string) (string, error) {
	var cur transitCursor
	if _, err := tx.Get(transitCursorKey, &cur); err != nil {
		return "", err
	}
	start := transitFirst
	if a, err := netip.ParseAddr(cur.Next); err == nil && a.Is4() && u32(a) >= transitFirst && u32(a) <= transitLast {
		start = u32(a)
	}
	n, ok, err := freeTransit(tx, start, transitLast)
	if err == nil && !ok && start > transitFirst {
		n, ok, err = freeTransit(tx, transitFirst, start-1)
	}
	if err != nil {
		return "", err
	}
	if !ok {
		return "", model.WithReason(model.ErrLimit, "", "No transit address is free: the region holds %d VPCs and load balancer nodes, as many as the transit range %s has room for", transitLast-transitFirst+1, model.TransitRange)
	}
	next := n + 1
	if next > transitLast {
		next = transitFirst
	}
	if err := tx.Put(transitCursorKey, transitCursor{Next: addr(next).String()}); err != nil {
		return "", err
	}
	ip := addr(n).String()
	return ip, tx.Put(transitKey(n), model.TransitAddress{IP: ip, Owner: owner})
}

// freeTransit finds the lowest transit address in [from, to] that has no record.
func freeTransit(tx *store.Tx, from, to uint32) (uint32, bool, error) {
	cand := from
	err := tx.Scan(transitPrefix, transitKey(cand), func(k string, _ []byte) (bool, error) {
		n, ok := transitOfKey(k)
		if !ok || n < cand {
			return true, nil
		}
		if n > cand {
			return false, nil // cand has no record: it is free
		}
		cand++
		return cand <= to, nil
	})
	if err != nil {
		return 0, false, err
	}
	return cand, cand <= to, nil
}

// TxReleaseTransit frees, inside tx, the transit address ip if owner holds it
// ("" and addresses held by others are left alone).
func TxReleaseTransit(tx *store.Tx, ip, owner string) error {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() || !model.TransitRange.Contains(a) {
		return nil
	}
	var rec model.TransitAddress
	ok, err := tx.Get(transitKey(u32(a)), &rec)
	if err != nil || !ok || rec.Owner != owner {
		return err
	}
	tx.Delete(transitKey(u32(a)))
	return nil
}

// checkNotTransit refuses a VPC or subnet range that overlaps the transit range
// (rangeReason: ReasonVpcRange or ReasonSubnetRange).
func checkNotTransit(p netip.Prefix, rangeReason model.Reason) error {
	if p.Overlaps(model.TransitRange) {
		return model.WithReason(model.ErrInvalid, rangeReason, "The CIDR '%s' is invalid: it overlaps %s, which is reserved for Strait's transit path between VPCs.", p, model.TransitRange)
	}
	return nil
}

// AssignVpcTransit gives every VPC that has no transit address (one written by
// an earlier version) one, each in its own transaction; VPCs that have one keep
// it. Each transaction reads the VPC again, so running it twice, or on two
// servers at once, assigns one address per VPC.
func (c *Network) AssignVpcTransit(ctx context.Context) (assigned int, err error) {
	vpcs, err := core.List[model.Vpc](ctx, c.Store(), model.KindVpc)
	if err != nil {
		return 0, err
	}
	for _, v := range vpcs {
		if v.TransitIP != "" {
			continue
		}
		var done bool
		err := c.Update(ctx, func(tx *store.Tx) error {
			done = false
			cur, err := core.TxGet[model.Vpc](tx, model.KindVpc, v.ID)
			if errors.Is(err, model.ErrNotFound) || err == nil && cur.TransitIP != "" {
				return nil // deleted or assigned meanwhile
			}
			if err != nil {
				return err
			}
			if cur.TransitIP, err = TxAllocateTransit(tx, cur.ID); err != nil {
				return err
			}
			done = true
			return tx.Put(core.Key(model.KindVpc, cur.ID), cur)
		})
		if err != nil {
			return assigned, err
		}
		if done {
			assigned++
		}
	}
	return assigned, nil
}

// TransitOwner says who holds a transit address: the VPC ID or load balancer
// node ENI ID it was allocated to, or "" when it is free.
func (c *Network) TransitOwner(ctx context.Context, ip string) (string, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() || !model.TransitRange.Contains(a) {
		return "", model.Invalid("%q is not a transit address (in %s)", ip, model.TransitRange)
	}
	var rec model.TransitAddress
	err = c.Store().Get(ctx, transitKey(u32(a)), &rec)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return rec.Owner, err
}
