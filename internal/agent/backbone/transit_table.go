package backbone

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// TransitTable is the nftables table SetTransit keeps in the transit
// namespace (`nft list table ip strait_backbone`):
//
//	postrouting (srcnat): oifname "backbone" snat to <this host's transit address>
//	forward (mangle):     oifname "backbone" tcp flags syn tcp option maxseg size set rt mtu
//
// Conntrack undoes the translation for the replies. The clamp keeps TCP
// segments within the backbone device's MTU, smaller than the VPCs' links, so
// that no flow depends on ICMP reaching its client through the translations.
const TransitTable = "strait_backbone"

var transitTable = &nftables.Table{Family: nftables.TableFamilyIPv4, Name: TransitTable}

// setTransitTable makes the transit namespace's table translate to source
// (atomically replaced), or removes it when source is invalid. A missing
// namespace has nothing to remove.
func setTransitTable(namespace string, source netip.Addr) error {
	ns, err := openNS(namespace)
	if errors.Is(err, errNoNamespace) && !source.IsValid() {
		return nil
	}
	if err != nil {
		return err
	}
	defer ns.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		return fmt.Errorf("nftables in %s: %w", namespace, err)
	}
	if !source.IsValid() {
		tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
		if err != nil {
			return fmt.Errorf("listing the tables of %s: %w", namespace, err)
		}
		for _, t := range tables {
			if t.Name == TransitTable {
				c.DelTable(transitTable)
				return flush(c, namespace)
			}
		}
		return nil
	}
	// Add, delete and add again: one batch that replaces whatever was there.
	c.AddTable(transitTable)
	c.DelTable(transitTable)
	c.AddTable(transitTable)
	accept := nftables.ChainPolicyAccept
	post := c.AddChain(&nftables.Chain{Name: "postrouting", Table: transitTable, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource, Policy: &accept})
	fwd := c.AddChain(&nftables.Chain{Name: "forward", Table: transitTable, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityMangle, Policy: &accept})
	src := source.As4()
	c.AddRule(&nftables.Rule{Table: transitTable, Chain: post, Exprs: append(oifBackbone(),
		&expr.Immediate{Register: 1, Data: src[:]},
		&expr.NAT{Type: expr.NATTypeSourceNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegAddrMax: 1},
	)})
	c.AddRule(&nftables.Rule{Table: transitTable, Chain: fwd, Exprs: append(oifBackbone(),
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{0x02}, Xor: []byte{0}},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0}},
		&expr.Rt{Register: 1, Key: expr.RtTCPMSS},
		&expr.Exthdr{SourceRegister: 1, Type: 2, Offset: 2, Len: 2, Op: expr.ExthdrOpTcpopt},
	)})
	return flush(c, namespace)
}

func flush(c *nftables.Conn, namespace string) error {
	if err := c.Flush(); err != nil {
		return fmt.Errorf("table %s in %s: %w", TransitTable, namespace, err)
	}
	return nil
}

// oifBackbone matches packets leaving over the backbone device.
func oifBackbone() []expr.Any {
	name := make([]byte, unix.IFNAMSIZ)
	copy(name, linkName)
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: name},
	}
}
