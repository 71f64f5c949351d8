package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
)

// Down removes every namespace named "strait-<tag>-*" (every "strait-*" when tag is
// empty), instances first (their processes are killed), with their interfaces and
// /etc/netns directories (the transit namespace too, with the VPCs' links to it), and returns the names it removed. It goes on after an
// error and returns the errors joined.
func Down(tag string) ([]string, error) {
	prefix := nsPrefix(tag)
	names, err := listNamespaces(prefix)
	if err != nil {
		return nil, err
	}
	etc, err := os.ReadDir(netnsEtcDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range etc {
		if strings.HasPrefix(e.Name(), prefix) && !slices.Contains(names, e.Name()) {
			names = append(names, e.Name()) // an instance directory left without its namespace
		}
	}
	// Instances first, so that no process keeps using a VPC being removed.
	sort.SliceStable(names, func(i, j int) bool { return isInstanceNS(names[i]) && !isInstanceNS(names[j]) })
	var removed []string
	var errs []error
	for _, name := range names {
		if err := removeNamespace(name); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", name, err))
			continue
		}
		removed = append(removed, name)
	}
	os.Remove(netnsEtcDir) // only if empty: leave the host as it was
	return removed, errors.Join(errs...)
}

// isInstanceNS reports whether a Strait namespace name is an instance's.
func isInstanceNS(name string) bool {
	_, id, _ := strings.Cut(strings.TrimPrefix(name, "strait-"), "-")
	return strings.HasPrefix(id, "i-")
}
