package network

import (
	"context"
	"fmt"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/model"
)

func port(p int32) *int32 { return &p }

// tcp is an inbound TCP rule for one port from a CIDR.
func tcp(p int32, cidr string) RuleSpec {
	return RuleSpec{Protocol: "tcp", FromPort: port(p), ToPort: port(p), CIDR: cidr}
}

// A new group allows all outbound traffic; names are unique per VPC without
// regard to case, "default" and sg-* names are refused.
func TestCreateSecurityGroup(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	ctx := context.Background()
	v := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.0.0.0/16"}))(t)
	g, err := c.CreateSecurityGroup(ctx, testAcct, CreateSecurityGroupInput{Name: "Web", Description: "web servers", VpcID: v.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Rules) != 1 || !g.Rules[0].Egress || g.Rules[0].Protocol != "-1" || g.Rules[0].CIDR != "0.0.0.0/0" {
		t.Fatalf("a new group's rules: %+v", g.Rules)
	}
	_, err = c.CreateSecurityGroup(ctx, testAcct, CreateSecurityGroupInput{Name: "wEB", Description: "again", VpcID: v.ID})
	controltest.WantError(t, "the same name in other case", err, model.ErrDuplicate, model.KindSecurityGroup, "")
	_, err = c.CreateSecurityGroup(ctx, testAcct, CreateSecurityGroupInput{Name: "Default", Description: "d", VpcID: v.ID})
	controltest.WantError(t, "the name default", err, model.ErrInvalid, "", model.ReasonReservedGroupName)
	_, err = c.CreateSecurityGroup(ctx, testAcct, CreateSecurityGroupInput{Name: "sg-web", Description: "d", VpcID: v.ID})
	controltest.WantError(t, "an sg-* name", err, model.ErrInvalid, "", "")
	_, err = c.CreateSecurityGroup(ctx, testAcct, CreateSecurityGroupInput{Name: "web2", Description: "d"})
	controltest.WantError(t, "no VPC", err, model.ErrMissing, "", model.ReasonNoVpc)
	_, err = c.CreateSecurityGroup(ctx, testAcct, CreateSecurityGroupInput{Name: "wéb", Description: "d", VpcID: v.ID})
	controltest.WantError(t, "a non-ASCII name", err, model.ErrInvalid, "", "")
	// The same name in another VPC is another group.
	v2 := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.1.0.0/16"}))(t)
	if _, err := c.CreateSecurityGroup(ctx, testAcct, CreateSecurityGroupInput{Name: "web", Description: "d", VpcID: v2.ID}); err != nil {
		t.Fatalf("the name in another VPC: %v", err)
	}
	_, err = c.SecurityGroupByName(ctx, testAcct, "web")
	if err != nil {
		t.Fatalf("one group named exactly web: %v", err)
	}
	err = c.DeleteSecurityGroup(ctx, testAcct, v.DefaultSecurityGroupID)
	controltest.WantError(t, "deleting a default group", err, model.ErrInvalid, "", model.ReasonCannotDelete)
}

// Authorizing a rule twice, in one request or two, is a duplicate and adds
// nothing; revoking by spec or by rule ID removes exactly that rule, and revoking
// a missing rule fails without removing the others.
func TestSecurityGroupRules(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	ctx := context.Background()
	v := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.0.0.0/16"}))(t)
	g := controltest.Must(c.CreateSecurityGroup(ctx, testAcct, CreateSecurityGroupInput{Name: "db", Description: "db", VpcID: v.ID}))(t)
	added, err := c.AuthorizeSecurityGroupRules(ctx, testAcct, g.ID, false,
		[]RuleSpec{tcp(3306, "10.0.1.7/24"), {Protocol: "6", FromPort: port(22), ToPort: port(22), GroupID: v.DefaultSecurityGroupID}},
		model.Tags{"team": "db"})
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 2 || added[0].CIDR != "10.0.1.0/24" || added[0].Protocol != "tcp" || added[0].FromPort != 3306 ||
		added[1].GroupID != v.DefaultSecurityGroupID || added[1].GroupOwner != testAcct || added[0].Tags["team"] != "db" ||
		!model.ValidID(model.PrefixRule, added[0].ID) || added[0].ID == added[1].ID {
		t.Fatalf("added rules %+v", added)
	}
	_, err = c.AuthorizeSecurityGroupRules(ctx, testAcct, g.ID, false, []RuleSpec{tcp(3306, "10.0.1.0/24")}, nil)
	controltest.WantError(t, "an existing rule", err, model.ErrDuplicate, model.KindRule, "")
	_, err = c.AuthorizeSecurityGroupRules(ctx, testAcct, g.ID, false, []RuleSpec{tcp(80, "10.0.0.0/8"), tcp(80, "10.0.0.0/8")}, nil)
	controltest.WantError(t, "a rule twice in one request", err, model.ErrDuplicate, model.KindRule, "")
	// The same rule outbound is another rule.
	if _, err := c.AuthorizeSecurityGroupRules(ctx, testAcct, g.ID, true, []RuleSpec{tcp(3306, "10.0.1.0/24")}, nil); err != nil {
		t.Fatalf("the rule outbound: %v", err)
	}
	for _, bad := range []struct {
		what   string
		spec   RuleSpec
		err    error
		reason model.Reason
	}{
		{"no ports for TCP", RuleSpec{Protocol: "tcp", CIDR: "10.0.0.0/8"}, model.ErrInvalid, ""},
		{"from after to", RuleSpec{Protocol: "tcp", FromPort: port(90), ToPort: port(80), CIDR: "10.0.0.0/8"}, model.ErrInvalid, ""},
		{"an unknown protocol", RuleSpec{Protocol: "sctpx", CIDR: "10.0.0.0/8"}, model.ErrInvalid, ""},
		{"two peers", RuleSpec{Protocol: "-1", CIDR: "10.0.0.0/8", CIDRv6: "fd00::/8"}, model.ErrInvalid, ""},
		{"a malformed CIDR", RuleSpec{Protocol: "-1", CIDR: "10.0.0.300/8"}, model.ErrInvalid, ""},
		{"a prefix list", RuleSpec{Protocol: "-1", PrefixListID: "pl-12345678"}, model.ErrNotFound, model.ReasonPrefixListNotFound},
	} {
		_, err := c.AuthorizeSecurityGroupRules(ctx, testAcct, g.ID, false, []RuleSpec{tcp(443, "10.0.0.0/8"), bad.spec}, nil)
		controltest.WantError(t, bad.what, err, bad.err, "", bad.reason)
	}
	got := controltest.Must(c.SecurityGroup(ctx, testAcct, g.ID))(t)
	if len(got.Rules) != 4 { // egress all, two inbound, one outbound: the refused requests added nothing
		t.Fatalf("after the refusals: %d rules, want 4: %+v", len(got.Rules), got.Rules)
	}

	removed, err := c.RevokeSecurityGroupRules(ctx, testAcct, g.ID, false, []RuleSpec{tcp(3306, "10.0.1.0/24")}, nil)
	if err != nil || len(removed) != 1 || removed[0].ID != added[0].ID {
		t.Fatalf("revoking by spec removed %+v (%v), want %s", removed, err, added[0].ID)
	}
	_, err = c.RevokeSecurityGroupRules(ctx, testAcct, g.ID, false, []RuleSpec{tcp(3306, "10.0.1.0/24")}, nil)
	controltest.WantError(t, "revoking it again", err, model.ErrNotFound, "", model.ReasonRuleNotFound)
	_, err = c.RevokeSecurityGroupRules(ctx, testAcct, g.ID, false, nil, []string{added[1].ID, "sgr-0123456789abcdef0"})
	controltest.WantError(t, "revoking a rule ID that does not exist", err, model.ErrNotFound, model.KindRule, "")
	_, err = c.RevokeSecurityGroupRules(ctx, testAcct, g.ID, false, nil, []string{"sgr-xyz"})
	controltest.WantError(t, "a malformed rule ID", err, model.ErrInvalid, "", model.ReasonMalformedRuleID)
	_, err = c.RevokeSecurityGroupRules(ctx, testAcct, g.ID, false, []RuleSpec{tcp(1, "10.0.0.0/8")}, []string{added[1].ID})
	controltest.WantError(t, "specs and IDs together", err, model.ErrInvalid, "", model.ReasonParameterCombination)
	removed, err = c.RevokeSecurityGroupRules(ctx, testAcct, g.ID, false, nil, []string{added[1].ID})
	if err != nil || len(removed) != 1 || removed[0].ID != added[1].ID {
		t.Fatalf("revoking by ID removed %+v (%v)", removed, err)
	}
	got = controltest.Must(c.SecurityGroup(ctx, testAcct, g.ID))(t)
	for _, r := range got.Rules {
		if !r.Egress {
			t.Fatalf("an inbound rule is left: %+v", r)
		}
	}
}

// A group holds at most 60 rules per direction.
func TestSecurityGroupRuleLimit(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	ctx := context.Background()
	v := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.0.0.0/16"}))(t)
	g := controltest.Must(c.CreateSecurityGroup(ctx, testAcct, CreateSecurityGroupInput{Name: "many", Description: "many", VpcID: v.ID}))(t)
	var specs []RuleSpec
	for i := range maxRulesPerDirection {
		specs = append(specs, tcp(int32(1000+i), "10.0.0.0/8"))
	}
	if _, err := c.AuthorizeSecurityGroupRules(ctx, testAcct, g.ID, false, specs, nil); err != nil {
		t.Fatalf("%d rules: %v", len(specs), err)
	}
	_, err := c.AuthorizeSecurityGroupRules(ctx, testAcct, g.ID, false, []RuleSpec{tcp(9, "10.0.0.0/8")}, nil)
	controltest.WantError(t, fmt.Sprintf("rule %d", maxRulesPerDirection+1), err, model.ErrLimit, "", model.ReasonRulesPerGroup)
	// Outbound has its own quota: the group has one outbound rule.
	if _, err := c.AuthorizeSecurityGroupRules(ctx, testAcct, g.ID, true, specs[:maxRulesPerDirection-1], nil); err != nil {
		t.Fatalf("%d outbound rules: %v", maxRulesPerDirection, err)
	}
}

// A group that a rule of another group or an interface uses cannot be deleted;
// nor can another VPC's group be referenced.
func TestDeleteSecurityGroupInUse(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	ctx := context.Background()
	sn := subnetIn(t, c, "10.0.1.0/24")
	app := controltest.Must(c.CreateSecurityGroup(ctx, testAcct, CreateSecurityGroupInput{Name: "app", Description: "app", VpcID: sn.VpcID}))(t)
	db := controltest.Must(c.CreateSecurityGroup(ctx, testAcct, CreateSecurityGroupInput{Name: "db", Description: "db", VpcID: sn.VpcID}))(t)
	if _, err := c.AuthorizeSecurityGroupRules(ctx, testAcct, db.ID, false, []RuleSpec{{Protocol: "tcp", FromPort: port(5432), ToPort: port(5432), GroupName: "app"}}, nil); err != nil {
		t.Fatal(err)
	}
	err := c.DeleteSecurityGroup(ctx, testAcct, app.ID)
	de := controltest.WantError(t, "deleting a group a rule refers to", err, model.ErrInUse, model.KindSecurityGroup, "")
	if de.ID != app.ID {
		t.Fatalf("the error names %q", de.ID)
	}
	if _, err := c.RunInstances(ctx, testAcct, RunInstancesInput{SubnetID: sn.ID, ImageID: "ami-12345678", MinCount: 1, MaxCount: 1, SecurityGroupIDs: []string{db.ID}}); err != nil {
		t.Fatal(err)
	}
	err = c.DeleteSecurityGroup(ctx, testAcct, db.ID)
	controltest.WantError(t, "deleting a group an interface uses", err, model.ErrInUse, model.KindSecurityGroup, "")
	other := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.9.0.0/16"}))(t)
	_, err = c.AuthorizeSecurityGroupRules(ctx, testAcct, db.ID, false, []RuleSpec{{Protocol: "-1", GroupID: other.DefaultSecurityGroupID}}, nil)
	controltest.WantError(t, "a group of another VPC", err, model.ErrNotFound, "", model.ReasonGroupNotFound)
	_, err = c.AuthorizeSecurityGroupRules(ctx, "222222222222", db.ID, false, []RuleSpec{tcp(1, "10.0.0.0/8")}, nil)
	controltest.WantError(t, "another account's group", err, model.ErrNotFound, model.KindSecurityGroup, "")
}
