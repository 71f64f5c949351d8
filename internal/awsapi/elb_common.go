package awsapi

import (
	"slices"
	"strings"

	"strait/internal/control"
	"strait/internal/model"
)

// elbTag is the ELBv2 Tag shape.
type elbTag struct {
	Key   string
	Value string
}

// elbAttribute is the ELBv2 LoadBalancerAttribute and TargetGroupAttribute shape.
type elbAttribute struct {
	Key   string
	Value string
}

func elbControlTags(tags []elbTag) []control.ELBTag {
	out := make([]control.ELBTag, len(tags))
	for i, t := range tags {
		out[i] = control.ELBTag{Key: t.Key, Value: t.Value}
	}
	return out
}

// elbTags renders tags in key order, as a list that is never nil.
func elbTags(t model.Tags) []elbTag {
	out := make([]elbTag, 0, len(t))
	for _, k := range sortedKeysOf(t) {
		out = append(out, elbTag{Key: k, Value: t[k]})
	}
	return out
}

func elbControlAttributes(attrs []elbAttribute) []control.ELBAttribute {
	out := make([]control.ELBAttribute, len(attrs))
	for i, a := range attrs {
		out[i] = control.ELBAttribute{Key: a.Key, Value: a.Value}
	}
	return out
}

func elbAttributes(attrs []control.ELBAttribute) []elbAttribute {
	out := make([]elbAttribute, len(attrs))
	for i, a := range attrs {
		out[i] = elbAttribute{Key: a.Key, Value: a.Value}
	}
	return out
}

// elbMaxPageSize is ELBv2's largest page, also used when a request sets none.
const elbMaxPageSize = 400

// elbPage returns the page of items after marker, ordered by sortKey, and the
// marker of the next page ("" on the last page).
func elbPage[T any](items []T, sortKey func(T) string, pageSize *int32, marker string) ([]T, string, error) {
	size := int32(elbMaxPageSize)
	if pageSize != nil {
		switch {
		case *pageSize < 1:
			return nil, "", model.Invalid("1 validation error detected: Value '%d' at 'pageSize' failed to satisfy constraint: Member must have value greater than or equal to 1", *pageSize)
		case *pageSize > elbMaxPageSize:
			return nil, "", model.Invalid("1 validation error detected: Value '%d' at 'pageSize' failed to satisfy constraint: Member must have value less than or equal to %d", *pageSize, elbMaxPageSize)
		}
		size = *pageSize
	}
	items = slices.Clone(items)
	page, next, err := paginate(items, sortKey, size, marker, 1, elbMaxPageSize)
	if err != nil {
		return nil, "", model.Invalid("The marker '%s' is not valid", marker)
	}
	return page, next, nil
}

// elbOnlyOne checks that at most one of the named request members is set.
func elbOnlyOne(members map[string]bool) error {
	var set []string
	for name, isSet := range members {
		if isSet {
			set = append(set, name)
		}
	}
	if len(set) > 1 {
		slices.Sort(set)
		return model.Invalid("%s cannot be specified at the same time", strings.Join(set, " and "))
	}
	return nil
}
