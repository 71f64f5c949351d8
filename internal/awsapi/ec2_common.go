package awsapi

import (
	"strait/internal/model"
)

// Tag is an EC2 tag.
type Tag struct {
	Key   string
	Value string
}

// TagSpecification tags a resource at creation.
type TagSpecification struct {
	ResourceType string
	Tags         []Tag
}

// tagsFor collects the tags for resourceType from a request's tag specifications;
// a specification for another type is an error, as in EC2.
func tagsFor(specs []TagSpecification, resourceType string) (model.Tags, error) {
	var tags model.Tags
	for _, s := range specs {
		if s.ResourceType != resourceType {
			return nil, model.Invalid("'%s' is not a valid taggable resource type for this operation; expected '%s'.", s.ResourceType, resourceType)
		}
		for _, t := range s.Tags {
			if err := checkTag(t.Key, t.Value); err != nil {
				return nil, err
			}
			if tags == nil {
				tags = model.Tags{}
			}
			tags[t.Key] = t.Value
		}
	}
	return tags, nil
}

// checkTag applies EC2's tag limits.
func checkTag(k, v string) error {
	switch {
	case k == "":
		return model.Invalid("Tag keys must not be empty")
	case len(k) > 128:
		return model.Invalid("Tag key exceeds the maximum length of 128 characters")
	case len(v) > 256:
		return model.Invalid("Tag value exceeds the maximum length of 256 characters")
	}
	return nil
}

// ec2Tags renders tags in key order; nil when there are none.
func ec2Tags(t model.Tags) []Tag {
	if len(t) == 0 {
		return nil
	}
	keys := sortedKeysOf(t)
	out := make([]Tag, len(keys))
	for i, k := range keys {
		out[i] = Tag{Key: k, Value: t[k]}
	}
	return out
}

// AttributeBooleanValue is EC2's boxed boolean.
type AttributeBooleanValue struct {
	Value *bool
}

// AttributeValue is EC2's boxed string.
type AttributeValue struct {
	Value string
}
