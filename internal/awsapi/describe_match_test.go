package awsapi

import (
	"fmt"
	"testing"
)

// matcher answers as matchAny does, with few or many values, with and without
// wildcards, and for items with several values.
func TestMatcherIsMatchAny(t *testing.T) {
	var ids []string
	for i := range 20 {
		ids = append(ids, fmt.Sprintf("vpce-%017d", i))
	}
	wants := [][]string{
		nil, {""}, ids[:3], ids, append(ids[:10:10], "vpce-*"), append(ids[:10:10], "vpce-00000000000000001?"),
		append(ids[:10:10], "[a-z]*"), append(ids[:10:10], `vpce-\*`), append(ids[:10:10], ""),
	}
	haves := [][]string{nil, {""}, {ids[0]}, {ids[19]}, {"vpce-x"}, {"other", ids[5]}, {"vpce-*"}, {"abc"}}
	for _, want := range wants {
		match := matcher(want)
		for _, have := range haves {
			if got, exp := match(have), matchAny(have, want); got != exp {
				t.Errorf("values %q, item %q: matcher %v, matchAny %v", want, have, got, exp)
			}
		}
	}
}
