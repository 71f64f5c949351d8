package ec2tags

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/control/core"
	"strait/internal/control/elb/elbtest"
	"strait/internal/control/endpoints"
	"strait/internal/control/network"
	"strait/internal/model"
)

const (
	owner = "111111111111"
	other = "222222222222"
)

// fixture is the tag operations with the families whose resources they tag.
type fixture struct {
	elbtest.Stack
	pl  *endpoints.PrivateLink
	tag *Tagger
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	s := elbtest.New(t, core.Config{})
	pl := endpoints.New(s.Base, s.Net, s.ELB)
	return fixture{Stack: s, pl: pl, tag: New(s.Base, s.Net, pl)}
}

// resources are one of each taggable kind of the owner.
type resources struct {
	vpc      model.Vpc
	subnet   model.Subnet
	group    model.SecurityGroup
	rule     model.SGRule
	instance model.Instance
	service  model.EndpointService
	perm     model.Permission
	endpoint model.Endpoint
}

// ids lists each resource's ID with its kind, route table and network ACL
// included.
func (r resources) ids() map[string]string {
	return map[string]string{
		r.vpc.ID: model.KindVpc, r.subnet.ID: model.KindSubnet, r.group.ID: model.KindSecurityGroup, r.rule.ID: model.KindRule,
		r.instance.ID: model.KindInstance, r.instance.ENIID: model.KindENI, r.service.ID: model.KindService, r.perm.ID: model.KindPermission,
		r.endpoint.ID: model.KindEndpoint, r.vpc.MainRouteTableID: model.KindRouteTable, r.vpc.DefaultNetworkACLID: model.KindNetworkACL,
	}
}

// make creates a VPC with a subnet, a group with a rule, an instance, an NLB
// published as an endpoint service with a permission, and an endpoint to it.
func (f fixture) make(t *testing.T) resources {
	t.Helper()
	ctx := context.Background()
	var r resources
	var subnets []model.Subnet
	r.vpc, subnets = f.VPC(t, owner, "10.0.0.0/16", "us-east-1a")
	r.subnet = subnets[0]
	r.group = controltest.Must(f.Net.CreateSecurityGroup(ctx, owner, network.CreateSecurityGroupInput{Name: "app", Description: "app", VpcID: r.vpc.ID}))(t)
	r.rule = r.group.Rules[0]
	r.instance = controltest.Must(f.Net.RunInstances(ctx, owner, network.RunInstancesInput{SubnetID: r.subnet.ID, ImageID: "ami-12345678", MinCount: 1, MaxCount: 1}))(t)[0]
	lb := f.NLB(t, owner, "lb", subnets)
	r.service = controltest.Must(f.pl.CreateEndpointService(ctx, owner, endpoints.CreateServiceInput{NLBARNs: []string{lb.ARN}}))(t)
	r.perm = controltest.Must(f.pl.ModifyServicePermissions(ctx, owner, r.service.ID, []string{"arn:aws:iam::" + other + ":root"}, nil))(t)[0]
	r.endpoint = controltest.Must(f.pl.CreateEndpoint(ctx, owner, endpoints.CreateEndpointInput{Type: "Interface", VpcID: r.vpc.ID, ServiceName: r.service.Name, SubnetIDs: []string{r.subnet.ID}}))(t)
	return r
}

// tagsOf reads the tags of each resource from DescribeTags.
func (f fixture) tagsOf(t *testing.T, acct string) map[string]model.Tags {
	t.Helper()
	out := map[string]model.Tags{}
	for _, rt := range controltest.Must(f.tag.EC2Tags(context.Background(), acct))(t) {
		if out[rt.ResourceID] == nil {
			out[rt.ResourceID] = model.Tags{}
		}
		out[rt.ResourceID][rt.Key] = rt.Value
	}
	return out
}

// CreateTags tags every kind of taggable resource in one call: records, security
// group rules, endpoint service permissions and the route table and network ACL
// derived from a VPC; DescribeTags lists them by resource ID and key, with their
// kinds, to their owner only.
func TestCreateTagsAcrossKinds(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	r := f.make(t)
	ids := r.ids()
	all := slices.Sorted(func(yield func(string) bool) {
		for id := range ids {
			if !yield(id) {
				return
			}
		}
	})
	if err := f.tag.CreateTags(ctx, owner, all, model.Tags{"env": "prod", "team": "db"}); err != nil {
		t.Fatal(err)
	}
	listed := controltest.Must(f.tag.EC2Tags(ctx, owner))(t)
	if len(listed) != 2*len(ids) {
		t.Fatalf("DescribeTags lists %d tags, want %d: %+v", len(listed), 2*len(ids), listed)
	}
	for i, rt := range listed {
		if rt.Kind != ids[rt.ResourceID] || rt.Key != []string{"env", "team"}[i%2] || rt.ResourceID != all[i/2] {
			t.Fatalf("tag %d: %+v (want resource %s, kind %s)", i, rt, all[i/2], ids[rt.ResourceID])
		}
	}
	// The tags are where each resource's readers find them.
	v := controltest.Must(f.Net.Vpc(ctx, owner, r.vpc.ID))(t)
	g := controltest.Must(f.Net.SecurityGroup(ctx, owner, r.group.ID))(t)
	rule, _ := network.FindRule(g.Rules, func(x model.SGRule) bool { return x.ID == r.rule.ID })
	svc := controltest.Must(f.pl.EndpointService(ctx, owner, r.service.ID))(t)
	rts := controltest.Must(f.Net.RouteTables(ctx, owner))(t)
	acls := controltest.Must(f.Net.NetworkACLs(ctx, owner))(t)
	for what, tags := range map[string]model.Tags{"VPC": v.Tags, "group": g.Tags, "rule": rule.Tags, "permission": svc.Principals[0].Tags,
		"service": svc.Tags, "route table": rts[0].Tags, "network ACL": acls[0].Tags} {
		if len(tags) != 2 || tags["env"] != "prod" {
			t.Errorf("the %s's tags: %+v", what, tags)
		}
	}
	if got := f.tagsOf(t, other); len(got) != 0 {
		t.Fatalf("another account lists %+v", got)
	}
}

// CreateTags is all or none: one ID that is malformed, unknown or another
// account's fails the call, and nothing is tagged.
func TestCreateTagsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	r := f.make(t)
	theirs, _ := f.VPC(t, other, "10.9.0.0/16")
	theirGroup := controltest.Must(f.Net.SecurityGroup(ctx, other, theirs.DefaultSecurityGroupID))(t)
	for _, bad := range []struct {
		what   string
		id     string
		err    error
		kind   string
		reason model.Reason
	}{
		{"a malformed ID", "vpc_123", model.ErrInvalid, "", model.ReasonMalformedID},
		{"an untaggable kind", "ami-12345678", model.ErrInvalid, "", model.ReasonMalformedID},
		{"an unknown VPC", "vpc-0123456789abcdef0", model.ErrNotFound, model.KindVpc, ""},
		{"another account's VPC", theirs.ID, model.ErrNotFound, model.KindVpc, ""},
		{"another account's group", theirs.DefaultSecurityGroupID, model.ErrNotFound, model.KindSecurityGroup, ""},
		{"another account's rule", theirGroup.Rules[0].ID, model.ErrNotFound, model.KindRule, ""},
		{"another account's route table", theirs.MainRouteTableID, model.ErrNotFound, model.KindRouteTable, ""},
		{"an unknown network ACL", "acl-0123456789abcdef0", model.ErrNotFound, model.KindNetworkACL, ""},
		{"an unknown permission", "vpce-svc-perm-0123456789abcdef0", model.ErrNotFound, model.KindPermission, model.ReasonPermissionNotFound},
	} {
		err := f.tag.CreateTags(ctx, owner, []string{r.vpc.ID, r.rule.ID, r.vpc.MainRouteTableID, bad.id}, model.Tags{"k": "v"})
		controltest.WantError(t, bad.what, err, bad.err, bad.kind, bad.reason)
	}
	// The consumer cannot tag the owner's permission, even though it names it.
	err := f.tag.CreateTags(ctx, other, []string{r.perm.ID}, model.Tags{"k": "v"})
	controltest.WantError(t, "tagging another account's permission", err, model.ErrNotFound, model.KindPermission, model.ReasonPermissionNotFound)
	err = f.tag.CreateTags(ctx, owner, []string{r.vpc.ID}, model.Tags{"aws:cloudformation": "x"})
	controltest.WantError(t, "an aws: key", err, model.ErrInvalid, "", "")
	err = f.tag.CreateTags(ctx, owner, nil, model.Tags{"k": "v"})
	controltest.WantError(t, "no resource", err, model.ErrMissing, "", "")
	err = f.tag.CreateTags(ctx, owner, []string{r.vpc.ID}, nil)
	controltest.WantError(t, "no tag", err, model.ErrMissing, "", "")
	if got := f.tagsOf(t, owner); len(got) != 0 {
		t.Fatalf("refused calls tagged %+v", got)
	}
}

// A resource holds at most 50 tags, counted after overwrites; the limit holds
// for rules and derived resources too.
func TestTagLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	r := f.make(t)
	fifty := model.Tags{}
	for i := range maxTagsPerResource {
		fifty[fmt.Sprintf("k%02d", i)] = "v"
	}
	targets := []string{r.vpc.ID, r.rule.ID, r.vpc.DefaultNetworkACLID, r.perm.ID}
	if err := f.tag.CreateTags(ctx, owner, targets, fifty); err != nil {
		t.Fatalf("50 tags: %v", err)
	}
	if err := f.tag.CreateTags(ctx, owner, targets, model.Tags{"k00": "changed"}); err != nil {
		t.Fatalf("overwriting a tag of a full resource: %v", err)
	}
	for _, id := range targets {
		err := f.tag.CreateTags(ctx, owner, []string{r.subnet.ID, id}, model.Tags{"k50": "v"})
		controltest.WantError(t, "tag 51 on "+id, err, model.ErrLimit, "", model.ReasonTagLimit)
	}
	got := f.tagsOf(t, owner)
	for _, id := range targets {
		if len(got[id]) != 50 || got[id]["k00"] != "changed" {
			t.Fatalf("%s has %d tags (k00=%q)", id, len(got[id]), got[id]["k00"])
		}
	}
	if len(got[r.subnet.ID]) != 0 {
		t.Fatalf("a refused call tagged the subnet: %+v", got[r.subnet.ID])
	}
}

// DeleteTags removes listed keys (only with the given value, when one is
// given), or every tag when no key is listed; a derived resource's tags go with
// its VPC.
func TestDeleteTags(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	r := f.make(t)
	ids := []string{r.instance.ID, r.rule.ID, r.vpc.MainRouteTableID, r.perm.ID}
	if err := f.tag.CreateTags(ctx, owner, ids, model.Tags{"a": "1", "b": "2", "c": "3"}); err != nil {
		t.Fatal(err)
	}
	two, wrong := "2", "9"
	if err := f.tag.DeleteTags(ctx, owner, ids, []TagKey{{Key: "a"}, {Key: "b", Value: &two}, {Key: "c", Value: &wrong}, {Key: "z"}}); err != nil {
		t.Fatal(err)
	}
	got := f.tagsOf(t, owner)
	for _, id := range ids {
		if len(got[id]) != 1 || got[id]["c"] != "3" {
			t.Fatalf("%s after deleting a, b=2 and c=9: %+v", id, got[id])
		}
	}
	if err := f.tag.DeleteTags(ctx, owner, []string{r.vpc.MainRouteTableID, r.rule.ID}, nil); err != nil {
		t.Fatal(err)
	}
	got = f.tagsOf(t, owner)
	if got[r.vpc.MainRouteTableID] != nil || got[r.rule.ID] != nil || got[r.instance.ID]["c"] != "3" {
		t.Fatalf("after deleting every tag of the route table and the rule: %+v", got)
	}
	if tags := controltest.Must(f.Net.DerivedTags(ctx, r.vpc.MainRouteTableID))(t); tags != nil {
		t.Fatalf("the route table's side record is left: %+v", tags)
	}
	err := f.tag.DeleteTags(ctx, other, []string{r.instance.ID}, nil)
	controltest.WantError(t, "another account deleting tags", err, model.ErrNotFound, model.KindInstance, "")
	err = f.tag.DeleteTags(ctx, owner, nil, nil)
	controltest.WantError(t, "no resource", err, model.ErrMissing, "", "")

	// The network ACL's tags live beside its VPC and go with it.
	v, _ := f.VPC(t, owner, "10.3.0.0/16")
	if err := f.tag.CreateTags(ctx, owner, []string{v.DefaultNetworkACLID}, model.Tags{"x": "y"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Net.DeleteVpc(ctx, owner, v.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.tagsOf(t, owner); got[v.DefaultNetworkACLID] != nil {
		t.Fatalf("the deleted VPC's network ACL still lists tags %+v", got[v.DefaultNetworkACLID])
	}
	err = f.tag.CreateTags(ctx, owner, []string{v.DefaultNetworkACLID}, model.Tags{"x": "y"})
	controltest.WantError(t, "tagging the deleted VPC's network ACL", err, model.ErrNotFound, model.KindNetworkACL, "")
}
