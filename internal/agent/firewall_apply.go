package agent

import (
	"bytes"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
)

// ApplyVPCFirewall replaces the firewall of the VPC's namespace (table "inet
// strait", see VPCRuleset) in one nft transaction. Applying the same rules again
// costs nothing.
func (h *Host) ApplyVPCFirewall(vpcID string, fw map[netip.Addr]Firewall) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.applyRuleset(h.Namespace(vpcID), VPCRuleset(fw)); err != nil {
		return fmt.Errorf("firewall of %s: %w", vpcID, err)
	}
	return nil
}

// ApplyInstanceFirewall replaces the firewall of the instance's namespace (table
// "inet strait", see InstanceRuleset) in one nft transaction. The instance must have
// been set up by EnsureInstance (its resolver address is read from its resolv.conf).
func (h *Host) ApplyInstanceFirewall(instanceID string, fw Firewall) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	name := h.Namespace(instanceID)
	resolver, err := instanceResolver(name)
	if err != nil {
		return fmt.Errorf("firewall of %s: %w", instanceID, err)
	}
	if err := h.applyRuleset(name, InstanceRuleset(fw, resolver)); err != nil {
		return fmt.Errorf("firewall of %s: %w", instanceID, err)
	}
	return nil
}

// applyRuleset loads an nft ruleset in the named namespace unless it is the one
// last loaded there.
func (h *Host) applyRuleset(name, ruleset string) error {
	if h.rulesets[name] == ruleset && nsExists(name) {
		return nil
	}
	if !nsExists(name) {
		return fmt.Errorf("namespace %s does not exist", name)
	}
	delete(h.rulesets, name)
	if err := nftApply(name, ruleset); err != nil {
		return err
	}
	h.rulesets[name] = ruleset
	return nil
}

// nftApply runs `ip netns exec <name> nft -f -` with ruleset as input.
func nftApply(name, ruleset string) error {
	cmd := exec.Command("ip", "netns", "exec", name, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("nft -f in %s: %v: %s", name, err, strings.TrimSpace(out.String()))
	}
	return nil
}
