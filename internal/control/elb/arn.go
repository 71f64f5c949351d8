package elb

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// elbResource is what an Elastic Load Balancing ARN names.
type elbResource struct {
	Kind    string // model.KindLoadBalancer, KindTargetGroup or KindListener
	Region  string
	Account string
	ID      string // the 16-hex ID, the key of the record
}

// elbWords names each kind in ELBv2 messages.
var elbWords = map[string]string{
	model.KindLoadBalancer: "load balancer",
	model.KindTargetGroup:  "target group",
	model.KindListener:     "listener",
}

// parseELBARN splits an ELB ARN: arn:aws:elasticloadbalancing:<region>:<account>:
// loadbalancer/<type>/<name>/<id>, targetgroup/<name>/<id> or
// listener/<type>/<lb name>/<lb id>/<id>. It reports false for anything else.
func parseELBARN(arn string) (elbResource, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] != "aws" || parts[2] != "elasticloadbalancing" ||
		parts[3] == "" || !model.AccountPattern.MatchString(parts[4]) {
		return elbResource{}, false
	}
	r := elbResource{Region: parts[3], Account: parts[4], ID: model.ARNResourceID(arn)}
	if r.ID == "" {
		return elbResource{}, false
	}
	path := strings.Split(parts[5], "/")
	switch {
	case path[0] == "loadbalancer" && len(path) == 4:
		r.Kind = model.KindLoadBalancer
	case path[0] == "targetgroup" && len(path) == 3:
		r.Kind = model.KindTargetGroup
	case path[0] == "listener" && len(path) == 5 && isHex16(path[3]):
		r.Kind = model.KindListener
	default:
		return elbResource{}, false
	}
	return r, true
}

// elbNotFound is ELBv2's answer for a resource that does not exist or is not the
// caller's.
func elbNotFound(kind, arn string) *model.Error {
	return &model.Error{Err: model.ErrNotFound, Kind: kind, ID: arn, Msg: fmt.Sprintf("One or more %ss not found", elbWords[kind])}
}

// elbRef checks that arn is a well-formed ARN of kind in this region and owned by
// acct, and returns the record ID.
func (c *ELB) elbRef(acct, arn, kind string) (string, error) {
	r, ok := parseELBARN(arn)
	if !ok || r.Kind != kind {
		return "", model.Invalid("'%s' is not a valid %s ARN", arn, elbWords[kind])
	}
	if r.Region != c.Region() || r.Account != acct {
		return "", elbNotFound(kind, arn)
	}
	return r.ID, nil
}

// elbRecord is a load balancer, target group or listener.
type elbRecord interface {
	model.LoadBalancer | model.TargetGroup | model.Listener
}

func elbIdentity(v any) (arn, owner string) {
	switch x := v.(type) {
	case *model.LoadBalancer:
		return x.ARN, x.Owner
	case *model.TargetGroup:
		return x.ARN, x.Owner
	case *model.Listener:
		return x.ARN, x.Owner
	}
	return "", ""
}

// getELB reads the caller's record named by arn.
func getELB[T elbRecord](ctx context.Context, c *ELB, acct, arn, kind string) (T, error) {
	var v T
	id, err := c.elbRef(acct, arn, kind)
	if err != nil {
		return v, err
	}
	if err := c.Store().Get(ctx, core.Key(kind, id), &v); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return v, elbNotFound(kind, arn)
		}
		return v, err
	}
	if a, owner := elbIdentity(&v); a != arn || owner != acct {
		return v, elbNotFound(kind, arn)
	}
	return v, nil
}

// txGetELB reads the caller's record named by arn inside a transaction.
func txGetELB[T elbRecord](c *ELB, tx *store.Tx, acct, arn, kind string) (T, error) {
	var v T
	id, err := c.elbRef(acct, arn, kind)
	if err != nil {
		return v, err
	}
	ok, err := tx.Get(core.Key(kind, id), &v)
	if err != nil {
		return v, err
	}
	if a, owner := elbIdentity(&v); !ok || a != arn || owner != acct {
		return v, elbNotFound(kind, arn)
	}
	return v, nil
}

// lbARNOfListener is the ARN of the load balancer a listener ARN belongs to.
func lbARNOfListener(listenerARN string) string {
	i := strings.LastIndexByte(listenerARN, '/')
	if i < 0 {
		return ""
	}
	return strings.Replace(listenerARN[:i], ":listener/", ":loadbalancer/", 1)
}

var elbNameChars = regexp.MustCompile(`^[a-zA-Z0-9-]+$`)

// checkELBName applies the naming rules shared by load balancers and target groups:
// 1 to 32 alphanumeric characters or hyphens, not starting or ending with a hyphen.
func checkELBName(what, name string) error {
	switch {
	case name == "":
		return model.Invalid("%s name cannot be empty", what)
	case len(name) > 32:
		return model.Invalid("%s name '%s' cannot be longer than '32' characters", what, name)
	case !elbNameChars.MatchString(name):
		return model.Invalid("%s name '%s' can only contain characters that are alphanumeric characters or hyphens(-)", what, name)
	case strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-"):
		return model.Invalid("%s name '%s' cannot begin or end with '-' character", what, name)
	}
	return nil
}

// elbAppendOnce appends s unless it is already there.
func elbAppendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// elbWithout returns list without s.
func elbWithout(list []string, s string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// elbSameSet reports whether two lists hold the same strings, ignoring order and
// repetition.
func elbSameSet(a, b []string) bool {
	in := func(x string, l []string) bool {
		for _, y := range l {
			if x == y {
				return true
			}
		}
		return false
	}
	for _, x := range a {
		if !in(x, b) {
			return false
		}
	}
	for _, x := range b {
		if !in(x, a) {
			return false
		}
	}
	return true
}

// isHex16 reports whether s is 16 lowercase hex digits, the ID part of ELB ARNs.
func isHex16(s string) bool {
	return len(s) == 16 && strings.Trim(s, "0123456789abcdef") == ""
}
