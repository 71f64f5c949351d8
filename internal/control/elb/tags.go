package elb

import (
	"context"
	"regexp"
	"strings"
	"unicode/utf8"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// ELBTag is one tag of a load balancer, target group or listener, as requests list
// them (a list, so that repeated keys can be refused).
type ELBTag struct {
	Key   string
	Value string
}

// Tag limits of Elastic Load Balancing.
const (
	maxELBTags         = 50
	maxELBTagResources = 20
)

var elbTagChars = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// elbTagMap checks a request's tags and returns them as a map.
func elbTagMap(tags []ELBTag) (model.Tags, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	out := make(model.Tags, len(tags))
	for _, t := range tags {
		if err := checkELBTag(t); err != nil {
			return nil, err
		}
		if _, dup := out[t.Key]; dup {
			return nil, model.WithReason(model.ErrInvalid, model.ReasonDuplicateTagKeys, "Tag key '%s' is specified more than once", t.Key)
		}
		out[t.Key] = t.Value
	}
	if len(out) > maxELBTags {
		return nil, tooManyTags()
	}
	return out, nil
}

func checkELBTag(t ELBTag) error {
	switch {
	case t.Key == "" || utf8.RuneCountInString(t.Key) > 128:
		return model.Invalid("Tag key '%s' must be between 1 and 128 characters long", t.Key)
	case utf8.RuneCountInString(t.Value) > 256:
		return model.Invalid("The value of tag '%s' cannot be longer than 256 characters", t.Key)
	case !elbTagChars.MatchString(t.Key) || !elbTagChars.MatchString(t.Value):
		return model.Invalid("Tag '%s' contains characters that are not allowed: use letters, digits, spaces and _ . : / = + - @", t.Key)
	case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
		return model.Invalid("Tag keys starting with 'aws:' are reserved for internal use")
	}
	return nil
}

func tooManyTags() error {
	return model.WithReason(model.ErrLimit, model.ReasonTooManyTags, "The quota for the number of tags that can be assigned to a resource has been reached: at most %d tags", maxELBTags)
}

func checkTagResources(arns []string) error {
	if len(arns) == 0 {
		return model.Missing("ResourceArns")
	}
	if len(arns) > maxELBTagResources {
		return model.Invalid("At most %d resource ARNs can be given, not %d", maxELBTagResources, len(arns))
	}
	return nil
}

// retagELB rewrites with change the tags of each of the caller's resources named
// by arns, in one transaction: all of them or none.
func (c *ELB) retagELB(ctx context.Context, acct string, arns []string, change func(model.Tags) (model.Tags, error)) error {
	return c.Update(ctx, func(tx *store.Tx) error {
		for _, arn := range arns {
			t, save, err := c.txTagged(tx, acct, arn)
			if err != nil {
				return err
			}
			if *t, err = change(*t); err != nil {
				return err
			}
			if err := save(); err != nil {
				return err
			}
		}
		return nil
	})
}

// txTagged reads the caller's resource named by arn for a tag change: it returns the
// resource's tags and a function that stores the resource with the changed tags.
func (c *ELB) txTagged(tx *store.Tx, acct, arn string) (*model.Tags, func() error, error) {
	r, ok := parseELBARN(arn)
	if !ok {
		return nil, nil, model.Invalid("'%s' is not a valid load balancer, target group or listener ARN", arn)
	}
	switch r.Kind {
	case model.KindLoadBalancer:
		v, err := txGetELB[model.LoadBalancer](c, tx, acct, arn, r.Kind)
		return &v.Tags, func() error { return tx.Put(core.Key(r.Kind, r.ID), v) }, err
	case model.KindTargetGroup:
		v, err := txGetELB[model.TargetGroup](c, tx, acct, arn, r.Kind)
		return &v.Tags, func() error { return tx.Put(core.Key(r.Kind, r.ID), v) }, err
	default:
		v, err := txGetELB[model.Listener](c, tx, acct, arn, r.Kind)
		return &v.Tags, func() error { return tx.Put(core.Key(r.Kind, r.ID), v) }, err
	}
}

// AddTags adds tags to (or changes the values of tags of) load balancers, target
// groups and listeners; all of them or none.
func (c *ELB) AddTags(ctx context.Context, acct string, arns []string, tags []ELBTag) error {
	if err := checkTagResources(arns); err != nil {
		return err
	}
	add, err := elbTagMap(tags)
	if err != nil {
		return err
	}
	if len(add) == 0 {
		return model.Missing("Tags")
	}
	return c.retagELB(ctx, acct, arns, func(have model.Tags) (model.Tags, error) {
		return core.AddTags(have, add, maxELBTags, tooManyTags)
	})
}

// RemoveTags removes tags, by key, from load balancers, target groups and
// listeners. Keys a resource does not have are ignored.
func (c *ELB) RemoveTags(ctx context.Context, acct string, arns, keys []string) error {
	if err := checkTagResources(arns); err != nil {
		return err
	}
	if len(keys) == 0 {
		return model.Missing("TagKeys")
	}
	return c.retagELB(ctx, acct, arns, func(have model.Tags) (model.Tags, error) {
		for _, k := range keys {
			delete(have, k)
		}
		if len(have) == 0 {
			return nil, nil
		}
		return have, nil
	})
}

// Tags returns the tags of each resource, in the order of arns.
func (c *ELB) Tags(ctx context.Context, acct string, arns []string) ([]model.Tags, error) {
	if err := checkTagResources(arns); err != nil {
		return nil, err
	}
	out := make([]model.Tags, 0, len(arns))
	for _, arn := range arns {
		r, ok := parseELBARN(arn)
		if !ok {
			return nil, model.Invalid("'%s' is not a valid load balancer, target group or listener ARN", arn)
		}
		var tags model.Tags
		var err error
		switch r.Kind {
		case model.KindLoadBalancer:
			var v model.LoadBalancer
			v, err = getELB[model.LoadBalancer](ctx, c, acct, arn, r.Kind)
			tags = v.Tags
		case model.KindTargetGroup:
			var v model.TargetGroup
			v, err = getELB[model.TargetGroup](ctx, c, acct, arn, r.Kind)
			tags = v.Tags
		default:
			var v model.Listener
			v, err = getELB[model.Listener](ctx, c, acct, arn, r.Kind)
			tags = v.Tags
		}
		if err != nil {
			return nil, err
		}
		out = append(out, tags)
	}
	return out, nil
}
