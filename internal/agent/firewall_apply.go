package agent

import (
	"bytes"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
)

// ApplyVPCFirewall makes the firewall of the VPC's namespace (table "inet
// strait", see VPCRuleset) fw, with groups holding the members of the security
// groups its rules refer to. Applying the same firewall again costs nothing;
// addresses and members that come and go are element updates; other changes
// replace the table in one nft transaction.
func (h *Host) ApplyVPCFirewall(vpcID string, fw map[netip.Addr]Firewall, groups map[string][]netip.Addr) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.applyTable(vpcID, vpcTable(fw, groups)); err != nil {
		return fmt.Errorf("firewall of %s: %w", vpcID, err)
	}
	return nil
}

// ApplyInstanceFirewall makes the firewall of the instance's namespace (table
// "inet strait", see InstanceRuleset) fw, as ApplyVPCFirewall does. The instance
// must have been set up by EnsureInstance (its resolver address is read from its
// resolv.conf).
func (h *Host) ApplyInstanceFirewall(instanceID string, fw Firewall, groups map[string][]netip.Addr) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	resolver, err := instanceResolver(h.Namespace(instanceID))
	if err != nil {
		return fmt.Errorf("firewall of %s: %w", instanceID, err)
	}
	if err := h.applyTable(instanceID, instanceTable(fw, groups, resolver)); err != nil {
		return fmt.Errorf("firewall of %s: %w", instanceID, err)
	}
	return nil
}

// applyTable makes the table of the namespace of a VPC or instance t: nothing
// when it is the one last applied there, element updates over netlink when only
// elements differ, else the whole table with nft. A failed element update falls
// back to the whole table.
func (h *Host) applyTable(id string, t nftTable) error {
	name := h.Namespace(id)
	if !nsExists(name) {
		return fmt.Errorf("namespace %s does not exist", name)
	}
	old, ok := h.tables[name]
	delete(h.tables, name)
	if ok {
		if old.equal(t) {
			h.tables[name] = t
			return nil
		}
		if batch, ok := old.delta(t); ok {
			err := h.Do(id, batch.send)
			if err == nil {
				h.tables[name] = t
				return nil
			}
			h.log.Warn("updating nftables elements failed; loading the whole table", "netns", name, "err", err)
		}
	}
	if err := h.Do(id, func() error { return nftLoad(name, t.text()) }); err != nil {
		return err
	}
	h.tables[name] = t
	return nil
}

// nftLoad runs `nft -f -` with script as input. Called inside a namespace (Host.Do),
// nft runs in it: a child process starts in its parent thread's namespace.
func nftLoad(name, script string) error {
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("nft -f in %s: %v: %s", name, err, strings.TrimSpace(out.String()))
	}
	return nil
}
