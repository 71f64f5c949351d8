package awsapi

import (
	"slices"
	"strings"

	"strait/internal/control/elb"
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

// elbAttributeOut is an attribute in a response: its value is always written,
// empty ones too (<Value></Value>), as AWS does for access_logs.s3.bucket.
type elbAttributeOut struct {
	Key   string
	Value *string
}

// attributesOut renders control's attributes for a response.
func attributesOut(in []elb.ELBAttribute) []elbAttributeOut {
	out := make([]elbAttributeOut, len(in))
	for i, a := range in {
		out[i] = elbAttributeOut{Key: a.Key, Value: &a.Value}
	}
	return out
}

// keyValue is the shape of ELBv2 tags and attributes, here and in control.
type keyValue interface {
	~struct {
		Key   string
		Value string
	}
}

// keyValues converts tags or attributes between the API's types and control's.
func keyValues[To, From keyValue](in []From) []To {
	out := make([]To, len(in))
	for i, kv := range in {
		out[i] = To(kv)
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

// elbMaxPageSize is ELBv2's largest page, also used when a request sets none.
const elbMaxPageSize = 400

// elbByARNs reads the resources named by arns with get, each once, in the order
// of arns; the first that fails fails the call.
func elbByARNs[T any](arns []string, get func(arn string) (T, error), arnOf func(T) string) ([]T, error) {
	var out []T
	for _, arn := range arns {
		v, err := get(arn)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(out, func(x T) bool { return arnOf(x) == arn }) {
			out = append(out, v)
		}
	}
	return out, nil
}

// elbPage returns the page of items after marker, ordered by sortKey and
// converted by conv (never nil), and the marker of the next page ("" on the last
// page).
func elbPage[T, R any](items []T, sortKey func(T) string, pageSize *int32, marker string, conv func(T) R) ([]R, string, error) {
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
	return convert(page, conv), next, nil
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
