package awsapi

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
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
			return nil, model.Invalid("The filter name must not be empty")
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
			return nil, model.Invalid("The filter '%s' is invalid", f.Name)
		}
		match := matcher(f.Values)
		kept := items[:0:0]
		for _, it := range items {
			if match(get(it)) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	return items, nil
}

// matcher returns matchAny for want; when no value of want has a wildcard (the
// usual case: IDs), a set lookup, so that a filter with many values costs one
// lookup per item value.
func matcher(want []string) func(have []string) bool {
	if len(want) < 8 || slices.ContainsFunc(want, func(w string) bool { return strings.ContainsAny(w, `*?[\`) }) {
		return func(have []string) bool { return matchAny(have, want) }
	}
	set := make(map[string]bool, len(want))
	for _, w := range want {
		set[w] = true
	}
	return func(have []string) bool { return slices.ContainsFunc(have, func(h string) bool { return set[h] }) }
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

func sortedKeysOf(m model.Tags) []string { return slices.Sorted(maps.Keys(m)) }

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
			return nil, "", model.WithReason(model.ErrInvalid, model.ReasonNextToken, "The token '%s' is invalid", token)
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
		return nil, "", model.Invalid("Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.", max, lo, hi)
	}
	if int(max) >= len(items) {
		return items, "", nil
	}
	page := items[:max]
	return page, base64.RawURLEncoding.EncodeToString([]byte(idOf(page[len(page)-1]))), nil
}

// renameNotFound words byIDs' NotFound error as EC2 does for a kind; format takes
// the ID. An empty format leaves err alone.
func renameNotFound(err error, format string) error {
	var de *model.Error
	if format != "" && errors.As(err, &de) && errors.Is(err, model.ErrNotFound) {
		return &model.Error{Err: de.Err, Kind: de.Kind, ID: de.ID, Msg: fmt.Sprintf(format, de.ID)}
	}
	return err
}

// checkIDs checks that every ID is well formed for a kind (see model.CheckID).
func checkIDs(kind, prefix string, ids []string) error {
	for _, id := range ids {
		if err := model.CheckID(kind, prefix, id); err != nil {
			return err
		}
	}
	return nil
}

// EC2 describe calls accept MaxResults between ec2MinResults and, unless a query
// says otherwise, ec2MaxResults.
const (
	ec2MinResults = 5
	ec2MaxResults = 1000
)

// query is what an EC2 describe call asks for: the items with some IDs, those that
// match the filters, and one page of them.
type query[T any] struct {
	// IDs, when any, select the items with those IDs; a missing one is the
	// NotFound error of Kind, worded with NotFoundMsg (a format taking the ID)
	// when that is set.
	IDs         []string
	Kind        string
	NotFoundMsg string
	// IDOf gives an item's ID, which also orders the pages.
	IDOf func(T) string
	// Filters are matched through Funcs, and tag filters through TagsOf; a nil
	// TagsOf makes tag filters invalid.
	Filters []Filter
	Funcs   filterFuncs[T]
	TagsOf  func(T) model.Tags
	// MaxResults and NextToken select the page; MaxLimit is the largest
	// MaxResults allowed, ec2MaxResults when 0, and MinLimit the smallest,
	// ec2MinResults when 0. With Clamp, a MaxResults above MaxLimit returns
	// MaxLimit items instead of failing (as the endpoint calls document it:
	// "if the value is greater than 1,000, we return only 1,000 items").
	MaxResults int32
	NextToken  string
	MaxLimit   int32
	MinLimit   int32
	Clamp      bool
}

// describe runs an EC2 describe call over all the caller's items: byIDs, then
// applyFilters, then paginate, then conv on each item of the page. The items are
// never nil, so that an empty result is an empty list; next is the NextToken.
func describe[T, R any](all []T, q query[T], conv func(T) R) (items []R, next string, err error) {
	selected, err := byIDs(all, q.IDs, q.IDOf, q.Kind)
	if err != nil {
		return nil, "", renameNotFound(err, q.NotFoundMsg)
	}
	if selected, err = applyFilters(selected, q.Filters, q.Funcs, q.TagsOf); err != nil {
		return nil, "", err
	}
	limit, least, max := q.MaxLimit, q.MinLimit, q.MaxResults
	if limit == 0 {
		limit = ec2MaxResults
	}
	if least == 0 {
		least = ec2MinResults
	}
	if q.Clamp && max > limit {
		max = limit
	}
	page, next, err := paginate(selected, q.IDOf, max, q.NextToken, least, limit)
	if err != nil {
		return nil, "", err
	}
	return convert(page, conv), next, nil
}

// convert applies conv to each item; the result is never nil.
func convert[T, R any](items []T, conv func(T) R) []R {
	out := make([]R, 0, len(items))
	for _, it := range items {
		out = append(out, conv(it))
	}
	return out
}
