package firewall

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"strait/internal/agent/netns"
)

// NFTables applies firewalls to the namespaces of a netns.Host. It remembers
// the table last applied in each namespace, so that applying the same firewall
// again costs nothing and a changed one only its difference.
type NFTables struct {
	host *netns.Host
	log  *slog.Logger

	mu     sync.Mutex
	tables map[string]nftTable // namespace (VPC or instance ID) → table last applied
}

// New returns an NFTables for the namespaces of host. It talks to the kernel
// over netlink and needs no program.
func New(host *netns.Host, log *slog.Logger) (*NFTables, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &NFTables{host: host, log: log, tables: map[string]nftTable{}}, nil
}

// ApplyVPC makes the firewall of the VPC's namespace (table "inet strait", see
// VPCRuleset) the rules of each address in fw, with groups holding the members
// of the security groups the rules refer to. Applying the same firewall again
// costs nothing; addresses and members that come and go are element updates;
// other changes replace the table in one netlink transaction.
func (f *NFTables) ApplyVPC(vpcID string, fw map[netip.Addr]Rules, groups map[string][]netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.applyTable(vpcID, vpcTable(fw, groups)); err != nil {
		return fmt.Errorf("firewall of %s: %w", vpcID, err)
	}
	return nil
}

// ApplyInstance makes the firewall of the instance's namespace (table "inet
// strait", see InstanceRuleset) fw, as ApplyVPC does; DNS to resolver, the VPC
// resolver's address, always passes.
func (f *NFTables) ApplyInstance(instanceID string, fw Rules, groups map[string][]netip.Addr, resolver netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.applyTable(instanceID, instanceTable(fw, groups, resolver)); err != nil {
		return fmt.Errorf("firewall of %s: %w", instanceID, err)
	}
	return nil
}

// Forget drops the table remembered for the namespace of a VPC or instance:
// the namespace was removed or made new, and the next firewall applied to it
// is loaded whole.
func (f *NFTables) Forget(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.tables, id)
}

// applyTable makes the table of the namespace of a VPC or instance t: nothing
// when it is the one last applied there, element updates over netlink when only
// elements differ, else the whole table, both over netlink. A failed element update falls
// back to the whole table.
func (f *NFTables) applyTable(id string, t nftTable) error {
	name := f.host.Namespace(id)
	if !f.host.Exists(id) {
		return fmt.Errorf("namespace %s does not exist", name)
	}
	old, ok := f.tables[id]
	delete(f.tables, id)
	if ok {
		if old.equal(t) {
			f.tables[id] = t
			return nil
		}
		if batch, ok := old.delta(t); ok {
			err := f.host.Do(id, batch.send)
			if err == nil {
				f.tables[id] = t
				return nil
			}
			f.log.Warn("updating nftables elements failed; loading the whole table", "netns", name, "err", err)
		}
	}
	if err := f.host.Do(id, t.load); err != nil {
		return fmt.Errorf("loading table inet strait in %s: %w", name, err)
	}
	f.tables[id] = t
	return nil
}
