package ec2tags

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"strait/internal/control/core"
	"strait/internal/control/network"
	"strait/internal/model"
	"strait/internal/store"
)

// maxTagsPerResource is EC2's limit of user tags on one resource.
const maxTagsPerResource = 50

// recordKinds maps the ID prefix of every taggable resource that has a store
// record of its own to that record's kind. Records keep their tags under the JSON
// key "tags" and their account under "owner", so tags work on them without
// knowing their Go types.
var recordKinds = map[string]string{
	model.PrefixVpc:      model.KindVpc,
	model.PrefixSubnet:   model.KindSubnet,
	model.PrefixSG:       model.KindSecurityGroup,
	model.PrefixENI:      model.KindENI,
	model.PrefixEndpoint: model.KindEndpoint,
	model.PrefixService:  model.KindService,
	model.PrefixInstance: model.KindInstance,
}

// derivedKinds are taggable resources without records of their own: they derive
// from their VPC, and their tags live in a side record (tagsof/<id>).
var derivedKinds = map[string]string{
	model.PrefixRouteTable: model.KindRouteTable,
	model.PrefixACL:        model.KindNetworkACL,
}

var taggableID = regexp.MustCompile(`^([a-z]+(?:-[a-z]+)*)-(?:[0-9a-f]{8}|[0-9a-f]{17})$`)

// ResourceTag is one tag of one resource, as DescribeTags lists them. Kind is one of
// the model.Kind* constants.
type ResourceTag struct {
	ResourceID string
	Kind       string
	Key        string
	Value      string
}

// TagKey names a tag to delete; a nil Value deletes the key whatever its value.
type TagKey struct {
	Key   string
	Value *string
}

// rawRecord is a stored resource seen as a JSON object.
type rawRecord map[string]json.RawMessage

func (r rawRecord) str(k string) string {
	var s string
	_ = json.Unmarshal(r[k], &s)
	return s
}

func (r rawRecord) tags() model.Tags {
	var t model.Tags
	_ = json.Unmarshal(r["tags"], &t)
	return t
}

func (r rawRecord) setTags(t model.Tags) error {
	if len(t) == 0 {
		delete(r, "tags")
		return nil
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	r["tags"] = b
	return nil
}

// taggable is a resource that a tag operation found: its kind, and for rules and
// derived resources where their tags live.
type taggable struct {
	id, kind string
	group    string // the security group of a rule
	vpc      string // the VPC of a derived resource
	service  string // the endpoint service of a permission
}

// resolveTaggable finds a resource of the account by ID. Record-backed kinds are
// checked again inside the transaction; rules and derived resources are located
// here.
func (c *Tagger) resolveTaggable(ctx context.Context, acct, id string) (taggable, error) {
	m := taggableID.FindStringSubmatch(id)
	if m == nil {
		return taggable{}, model.WithReason(model.ErrInvalid, model.ReasonMalformedID, "The ID '%s' is not valid", id)
	}
	prefix := m[1]
	if kind, ok := recordKinds[prefix]; ok {
		return taggable{id: id, kind: kind}, nil
	}
	if prefix == model.PrefixRule {
		groups, err := c.net.SecurityGroups(ctx, acct)
		if err != nil {
			return taggable{}, err
		}
		for _, g := range groups {
			if _, ok := network.FindRule(g.Rules, func(r model.SGRule) bool { return r.ID == id }); ok {
				return taggable{id: id, kind: model.KindRule, group: g.ID}, nil
			}
		}
		return taggable{}, model.NotFound(model.KindRule, id)
	}
	if prefix == model.PrefixPermission {
		return c.resolvePermission(ctx, acct, id)
	}
	if kind, ok := derivedKinds[prefix]; ok {
		vpcs, err := c.net.Vpcs(ctx, acct)
		if err != nil {
			return taggable{}, err
		}
		for _, v := range vpcs {
			if v.MainRouteTableID == id || v.DefaultNetworkACLID == id {
				return taggable{id: id, kind: kind, vpc: v.ID}, nil
			}
		}
		return taggable{}, derivedNotFound(kind, id)
	}
	return taggable{}, model.WithReason(model.ErrInvalid, model.ReasonMalformedID, "The ID '%s' is not valid", id)
}

func derivedNotFound(kind, id string) error {
	if kind == model.KindRouteTable {
		return &model.Error{Err: model.ErrNotFound, Kind: kind, ID: id, Msg: fmt.Sprintf("The routeTable ID '%s' does not exist", id)}
	}
	return &model.Error{Err: model.ErrNotFound, Kind: kind, ID: id, Msg: fmt.Sprintf("The networkAcl ID '%s' does not exist", id)}
}

func taggableNotFound(t taggable) error {
	if t.kind == model.KindSecurityGroup {
		return network.SGNotFound(t.id)
	}
	return model.NotFound(t.kind, t.id)
}

// CreateTags adds or overwrites tags on resources of the account, all or none.
func (c *Tagger) CreateTags(ctx context.Context, acct string, ids []string, tags model.Tags) error {
	if len(ids) == 0 {
		return model.Missing("ResourceId")
	}
	if len(tags) == 0 {
		return model.Missing("Tag")
	}
	for k := range tags {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return model.Invalid("Tag keys starting with 'aws:' are reserved for internal use")
		}
	}
	return c.retag(ctx, acct, ids, func(have model.Tags) (model.Tags, error) {
		return core.AddTags(have, tags, maxTagsPerResource, func() error {
			return model.WithReason(model.ErrLimit, model.ReasonTagLimit, "The maximum number of tags for a resource has been reached (%d).", maxTagsPerResource)
		})
	})
}

// DeleteTags removes tags from resources of the account: each listed key (only if
// its value matches when a value is given), or every tag when none is listed.
func (c *Tagger) DeleteTags(ctx context.Context, acct string, ids []string, keys []TagKey) error {
	if len(ids) == 0 {
		return model.Missing("ResourceId")
	}
	return c.retag(ctx, acct, ids, func(have model.Tags) (model.Tags, error) {
		if len(keys) == 0 {
			return nil, nil
		}
		for _, k := range keys {
			if v, ok := have[k.Key]; ok && (k.Value == nil || *k.Value == v) {
				delete(have, k.Key)
			}
		}
		return have, nil
	})
}

// retag rewrites the tags of every listed resource with change, in one transaction.
func (c *Tagger) retag(ctx context.Context, acct string, ids []string, change func(model.Tags) (model.Tags, error)) error {
	targets := make([]taggable, 0, len(ids))
	for _, id := range ids {
		t, err := c.resolveTaggable(ctx, acct, id)
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		for _, t := range targets {
			var err error
			switch {
			case t.kind == model.KindRule:
				err = retagRule(tx, t, change)
			case t.kind == model.KindPermission:
				err = retagPermission(tx, acct, t, change)
			case t.vpc != "":
				err = retagDerived(tx, acct, t, change)
			default:
				err = retagRecord(tx, acct, t, change)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func retagRecord(tx *store.Tx, acct string, t taggable, change func(model.Tags) (model.Tags, error)) error {
	var rec rawRecord
	ok, err := tx.Get(core.Key(t.kind, t.id), &rec)
	if err != nil {
		return err
	}
	if !ok || rec.str("owner") != acct {
		return taggableNotFound(t)
	}
	tags, err := change(rec.tags())
	if err != nil {
		return err
	}
	if err := rec.setTags(tags); err != nil {
		return err
	}
	return tx.Put(core.Key(t.kind, t.id), rec)
}

func retagRule(tx *store.Tx, t taggable, change func(model.Tags) (model.Tags, error)) error {
	g, err := core.TxGet[model.SecurityGroup](tx, model.KindSecurityGroup, t.group)
	if err != nil {
		return model.NotFound(model.KindRule, t.id)
	}
	for i, r := range g.Rules {
		if r.ID == t.id {
			tags, err := change(r.Tags.Clone())
			if err != nil {
				return err
			}
			g.Rules[i].Tags = tags.Clone()
			return tx.Put(core.Key(model.KindSecurityGroup, g.ID), g)
		}
	}
	return model.NotFound(model.KindRule, t.id)
}

func retagDerived(tx *store.Tx, acct string, t taggable, change func(model.Tags) (model.Tags, error)) error {
	if !tx.Exists(core.Key(model.KindVpc, t.vpc)) {
		return derivedNotFound(t.kind, t.id)
	}
	rec := network.SideTags{ID: t.id, Owner: acct, VpcID: t.vpc, Kind: t.kind}
	if _, err := tx.Get(network.SideTagsKey(t.id), &rec); err != nil {
		return err
	}
	tags, err := change(rec.Tags)
	if err != nil {
		return err
	}
	if rec.Tags = tags.Clone(); len(rec.Tags) == 0 {
		tx.Delete(network.SideTagsKey(t.id))
		return nil
	}
	return tx.Put(network.SideTagsKey(t.id), rec)
}

// EC2Tags lists every EC2 tag of every resource of the account, by resource ID then
// key.
func (c *Tagger) EC2Tags(ctx context.Context, acct string) ([]ResourceTag, error) {
	var out []ResourceTag
	add := func(id, kind string, tags model.Tags) {
		for k, v := range tags {
			out = append(out, ResourceTag{ResourceID: id, Kind: kind, Key: k, Value: v})
		}
	}
	for _, kind := range core.SortedKeys(kindSet(recordKinds)) {
		err := c.Store().List(ctx, kind+"/", func(_ string, val []byte) error {
			var rec rawRecord
			if json.Unmarshal(val, &rec) != nil || rec.str("owner") != acct || rec.str("id") == "" {
				return nil // not a resource record of this account
			}
			add(rec.str("id"), kind, rec.tags())
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	groups, err := c.net.SecurityGroups(ctx, acct)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		for _, r := range g.Rules {
			add(r.ID, model.KindRule, r.Tags)
		}
	}
	perms, err := c.permissionTags(ctx, acct)
	if err != nil {
		return nil, err
	}
	out = append(out, perms...)
	vpcs, err := c.net.Vpcs(ctx, acct)
	if err != nil {
		return nil, err
	}
	live := map[string]bool{}
	for _, v := range vpcs {
		live[v.ID] = true
	}
	side, err := core.List[network.SideTags](ctx, c.Store(), "tagsof")
	if err != nil {
		return nil, err
	}
	for _, s := range side {
		if s.Owner == acct && live[s.VpcID] {
			add(s.ID, s.Kind, s.Tags)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ResourceID != out[j].ResourceID {
			return out[i].ResourceID < out[j].ResourceID
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

func kindSet(m map[string]string) map[string]bool {
	out := map[string]bool{}
	for _, k := range m {
		out[k] = true
	}
	return out
}
