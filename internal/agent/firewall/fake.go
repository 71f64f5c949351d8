package firewall

import (
	"fmt"
	"net/netip"
	"sync"
)

// Fake is a firewall that loads nothing, for tests that need no root: it
// renders each firewall it is given into the ruleset NFTables would load and
// records it per namespace (VPC or instance ID), with the number of applies.
// Its zero value is ready to use.
type Fake struct {
	mu       sync.Mutex
	rulesets map[string]string // namespace → ruleset last applied
	applies  map[string]int    // namespace → applies, failed ones included
	fail     map[string]error  // namespace → the error its applies return
}

// ApplyVPC records the ruleset of a VPC namespace (VPCRuleset).
func (f *Fake) ApplyVPC(vpcID string, fw map[netip.Addr]Rules, groups map[string][]netip.Addr) error {
	return f.apply(vpcID, VPCRuleset(fw, groups))
}

// ApplyInstance records the ruleset of an instance namespace (InstanceRuleset).
func (f *Fake) ApplyInstance(instanceID string, fw Rules, groups map[string][]netip.Addr, resolver netip.Addr) error {
	return f.apply(instanceID, InstanceRuleset(fw, groups, resolver))
}

// Forget drops the ruleset recorded for a namespace.
func (f *Fake) Forget(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.rulesets, id)
}

func (f *Fake) apply(id, ruleset string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.applies == nil {
		f.applies, f.rulesets = map[string]int{}, map[string]string{}
	}
	f.applies[id]++
	if err := f.fail[id]; err != nil {
		return fmt.Errorf("firewall of %s: %w", id, err)
	}
	f.rulesets[id] = ruleset
	return nil
}

// Fail makes the applies to the namespace of id return err from now on; a nil
// err lets them succeed again.
func (f *Fake) Fail(id string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == nil {
		f.fail = map[string]error{}
	}
	f.fail[id] = err
}

// Ruleset returns the ruleset last applied to the namespace of id; ok is false
// when none was, or it was forgotten since.
func (f *Fake) Ruleset(id string) (ruleset string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ruleset, ok = f.rulesets[id]
	return ruleset, ok
}

// Applies is how many times a firewall was applied to the namespace of id.
func (f *Fake) Applies(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applies[id]
}
