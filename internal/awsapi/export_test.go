package awsapi

import "sort"

// Actions lists every registered action by signing name, for tests that check
// coverage.
func Actions() map[string][]string {
	a := &API{}
	out := map[string][]string{}
	for svc, actions := range map[string]map[string]handler{"ec2": a.ec2Actions(), "elasticloadbalancing": a.elbActions()} {
		for name := range actions {
			out[svc] = append(out[svc], name)
		}
		sort.Strings(out[svc])
	}
	return out
}
