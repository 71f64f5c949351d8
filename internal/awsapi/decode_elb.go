package awsapi

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"strait/internal/model"
)

// elbConstraint checks a scalar of an ELBv2 request against its shape's enum and
// bounds and words a violation as ELBv2 does (its validation layer, unlike EC2):
// "1 validation error detected: Value 'X' at 'protocol' failed to satisfy
// constraint: Member must satisfy enum value set: [...]". path is the query path
// of the parameter.
func elbConstraint(raw string, s *shape, path string) error {
	var rule string
	switch s.Type {
	case "string":
		n := float64(utf8.RuneCountInString(raw))
		switch {
		case len(s.Enum) > 0 && !slices.Contains(s.Enum, raw):
			rule = "Member must satisfy enum value set: [" + strings.Join(s.Enum, ", ") + "]"
		case s.Min != nil && n < *s.Min:
			rule = fmt.Sprintf("Member must have length greater than or equal to %d", int(*s.Min))
		case s.Max != nil && n > *s.Max:
			rule = fmt.Sprintf("Member must have length less than or equal to %d", int(*s.Max))
		}
	case "integer", "long":
		v, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		switch {
		case err != nil:
			return nil // left to the decoder's own check
		case s.Min != nil && v < *s.Min:
			rule = fmt.Sprintf("Member must have value greater than or equal to %d", int(*s.Min))
		case s.Max != nil && v > *s.Max:
			rule = fmt.Sprintf("Member must have value less than or equal to %d", int(*s.Max))
		}
	}
	if rule == "" {
		return nil
	}
	return model.Invalid("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", raw, elbMemberPath(path), rule)
}

// elbMemberPath is a query path as ELBv2's validation errors name it: members in
// lower camel case, list items as "<index>.member" ("DefaultActions.member.1.Type"
// is "defaultActions.1.member.type").
func elbMemberPath(path string) string {
	parts := strings.Split(path, ".")
	var out []string
	for i := 0; i < len(parts); i++ {
		if parts[i] == "member" && i+1 < len(parts) {
			out = append(out, parts[i+1], "member")
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(parts[i])
		out = append(out, string(unicode.ToLower(r))+parts[i][size:])
	}
	return strings.Join(out, ".")
}
