package awsapi

import (
	"encoding/base64"
	"path"
	"slices"
	"strings"

	"strait/internal/model"
)

// Filter is an EC2 describe filter; values of one filter are ORed, filters are ANDed.
type Filter struct {
	Name   string
	Values []string
}

// filterFuncs gives, for each filter name, the values of an item to match against.
type filterFuncs[T any] map[string]func(T) []string

// applyFilters keeps the items that match every filter. Tag filters (tag:Key,
// tag-key, tag-value) work on every kind through tagsOf; values may use * and ?.
func applyFilters[T any](items []T, filters []Filter, funcs filterFuncs[T], tagsOf func(T) model.Tags) ([]T, error) {
	for _, f := range filters {
		if f.Name == "" {
			return nil, model.Coded(model.ErrInvalid, "InvalidParameterValue", "The filter name must not be empty")
		}
		get, ok := funcs[f.Name]
		switch {
		case ok:
		case strings.HasPrefix(f.Name, "tag:") && tagsOf != nil:
			k := strings.TrimPrefix(f.Name, "tag:")
			get = func(it T) []string {
				if v, ok := tagsOf(it)[k]; ok {
					return []string{v}
				}
				return nil
			}
		case f.Name == "tag-key" && tagsOf != nil:
			get = func(it T) []string { return sortedKeysOf(tagsOf(it)) }
		case f.Name == "tag-value" && tagsOf != nil:
			get = func(it T) []string {
				var vs []string
				for _, v := range tagsOf(it) {
					vs = append(vs, v)
				}
				return vs
			}
		default:
			return nil, model.Coded(model.ErrInvalid, "InvalidParameterValue", "The filter '%s' is invalid", f.Name)
		}
		kept := items[:0:0]
		for _, it := range items {
			if matchAny(get(it), f.Values) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	return items, nil
}

func matchAny(have, want []string) bool {
	for _, w := range want {
		for _, h := range have {
			if ok, _ := path.Match(w, h); ok || w == h {
				return true
			}
		}
	}
	return false
}

func sortedKeysOf(m model.Tags) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// byIDs keeps the items whose ID is listed; every listed ID must exist, or the
// result is the NotFound error of the first missing one.
func byIDs[T any](items []T, ids []string, idOf func(T) string, kind string) ([]T, error) {
	if len(ids) == 0 {
		return items, nil
	}
	found := map[string]T{}
	for _, it := range items {
		found[idOf(it)] = it
	}
	out := make([]T, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		it, ok := found[id]
		if !ok {
			return nil, model.NotFound(kind, id)
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, it)
		}
	}
	return out, nil
}

// paginate returns the page of items after the token (items sorted by ID) and the
// token of the next page. max of 0 means everything; otherwise it must lie in
// [lo, hi].
func paginate[T any](items []T, idOf func(T) string, max int32, token string, lo, hi int32) ([]T, string, error) {
	slices.SortFunc(items, func(a, b T) int { return strings.Compare(idOf(a), idOf(b)) })
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(raw) == 0 {
			return nil, "", model.Coded(model.ErrInvalid, "InvalidNextToken", "The token '%s' is invalid", token)
		}
		after := string(raw)
		i, _ := slices.BinarySearchFunc(items, after, func(it T, s string) int { return strings.Compare(idOf(it), s) })
		if i < len(items) && idOf(items[i]) == after {
			i++
		}
		items = items[i:]
	}
	if max == 0 {
		return items, "", nil
	}
	if max < lo || max > hi {
		return nil, "", model.Coded(model.ErrInvalid, "InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.", max, lo, hi)
	}
	if int(max) >= len(items) {
		return items, "", nil
	}
	page := items[:max]
	return page, base64.RawURLEncoding.EncodeToString([]byte(idOf(page[len(page)-1]))), nil
}
