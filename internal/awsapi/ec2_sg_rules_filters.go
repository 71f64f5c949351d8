package awsapi

import (
	"strings"

	"strait/internal/model"
)

// checkRuleFilters refuses what AWS refuses in DescribeSecurityGroupRules'
// filters: a group-id value that is not a security group ID is
// InvalidGroupId.Malformed, not an empty answer. Values with wildcards are
// patterns, not IDs, and are left to match.
func checkRuleFilters(filters []Filter) error {
	for _, f := range filters {
		if f.Name != "group-id" {
			continue
		}
		for _, v := range f.Values {
			if strings.ContainsAny(v, "*?") {
				continue
			}
			if err := model.CheckID(model.KindSecurityGroup, model.PrefixSG, v); err != nil {
				return err
			}
		}
	}
	return nil
}
