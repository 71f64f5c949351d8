package elb

import (
	"strings"

	"strait/internal/model"
)

// targetGroupNamePattern is the pattern AWS checks target group names against
// beyond what CreateTargetGroup documents: no leading or trailing hyphen and no
// two hyphens in a row.
const targetGroupNamePattern = `(?!.*--)(?!^-)(?!.*-$)^[A-Za-z0-9-]+$`

// checkTargetGroupName applies the load balancer naming rules and then AWS's name
// pattern, whose failure AWS words as a validation error of the pattern (as it
// does for "a--b", "-a" and "a-").
func checkTargetGroupName(name string) error {
	if name != "" && len(name) <= 32 && elbNameChars.MatchString(name) &&
		(strings.Contains(name, "--") || strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-")) {
		return model.Invalid("1 validation error detected: Value '%s' at 'targetGroup.targetGroupArn.targetGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", name, targetGroupNamePattern)
	}
	return checkELBName("Target group", name)
}
