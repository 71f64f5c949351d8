package awsapi_test

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"strait/internal/testenv"
)

// netErrCode is the AWS error code of err, or "" when err carries none.
func netErrCode(err error) string {
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) {
		return coded.ErrorCode()
	}
	return ""
}

// netWantCode fails the test unless err has the given AWS error code.
func netWantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := netErrCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func netCreateSG(t *testing.T, c *ec2.Client, vpc, name string) string {
	t.Helper()
	out, err := c.CreateSecurityGroup(testenv.Ctx(t), &ec2.CreateSecurityGroupInput{
		VpcId: aws.String(vpc), GroupName: aws.String(name), Description: aws.String("group " + name),
	})
	if err != nil {
		t.Fatal(err)
	}
	return *out.GroupId
}

func netDescribeSG(t *testing.T, c *ec2.Client, id string) types.SecurityGroup {
	t.Helper()
	out, err := c.DescribeSecurityGroups(testenv.Ctx(t), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SecurityGroups) != 1 {
		t.Fatalf("DescribeSecurityGroups %s: %d groups", id, len(out.SecurityGroups))
	}
	return out.SecurityGroups[0]
}

func TestSecurityGroupLifecycle(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	c := env.EC2("111111111111")
	vpc, _ := env.Network("111111111111", testenv.Zones(0)...)

	out, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		VpcId: aws.String(vpc), GroupName: aws.String("db"), Description: aws.String("database"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("db")}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := *out.GroupId
	if want := fmt.Sprintf("arn:aws:ec2:%s:111111111111:security-group/%s", testenv.Region, id); aws.ToString(out.SecurityGroupArn) != want {
		t.Errorf("ARN %q, want %q", aws.ToString(out.SecurityGroupArn), want)
	}
	g := netDescribeSG(t, c, id)
	if *g.GroupName != "db" || *g.Description != "database" || *g.VpcId != vpc || *g.OwnerId != "111111111111" {
		t.Errorf("described group %+v", g)
	}
	if len(g.Tags) != 1 || *g.Tags[0].Key != "Name" || *g.Tags[0].Value != "db" {
		t.Errorf("tags %+v", g.Tags)
	}
	if len(g.IpPermissions) != 0 || len(g.IpPermissionsEgress) != 1 || *g.IpPermissionsEgress[0].IpProtocol != "-1" ||
		*g.IpPermissionsEgress[0].IpRanges[0].CidrIp != "0.0.0.0/0" || g.IpPermissionsEgress[0].FromPort != nil {
		t.Errorf("a new group allows all egress and no ingress; got in %+v out %+v", g.IpPermissions, g.IpPermissionsEgress)
	}

	_, err = c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(vpc), GroupName: aws.String("db"), Description: aws.String("again")})
	netWantCode(t, err, "InvalidGroup.Duplicate")
	_, err = c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(vpc), GroupName: aws.String("DB"), Description: aws.String("names ignore case")})
	netWantCode(t, err, "InvalidGroup.Duplicate")
	_, err = c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(vpc), GroupName: aws.String("default"), Description: aws.String("x")})
	netWantCode(t, err, "InvalidGroup.Reserved")
	_, err = c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(vpc), GroupName: aws.String("sg-1"), Description: aws.String("x")})
	netWantCode(t, err, "InvalidParameterValue")

	// Another VPC may reuse the name.
	vpc2, _ := env.Network("111111111111", testenv.Zones(0)...)
	other := netCreateSG(t, c, vpc2, "db")

	// A group referenced by another group's rule cannot be deleted.
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(netCreateSG(t, c, vpc, "app")),
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80),
			UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(id)}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	netWantCode(t, err, "DependencyViolation")

	// A name shared by two groups does not identify one.
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupName: aws.String("db")})
	netWantCode(t, err, "InvalidParameterValue")
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(other)}); err != nil {
		t.Fatal(err)
	}
	// The VPC still holds groups.
	_, err = c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(vpc)})
	netWantCode(t, err, "DependencyViolation")
	if _, err := c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(vpc2)}); err != nil {
		t.Fatalf("deleting a VPC left with its default group: %v", err)
	}

	app, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"app"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: app.SecurityGroups[0].GroupId}); err != nil {
		t.Fatal(err)
	}
	del, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupName: aws.String("db")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(del.GroupId) != id || !aws.ToBool(del.Return) {
		t.Errorf("DeleteSecurityGroup by name: %+v", del)
	}
	_, err = c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	netWantCode(t, err, "InvalidGroup.NotFound")
	if _, err := c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(vpc)}); err != nil {
		t.Fatal(err)
	}
}

func TestSecurityGroupRulesRoundTrip(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	c := env.EC2("111111111111")
	vpc, _ := env.Network("111111111111", testenv.Zones(0)...)
	db, app := netCreateSG(t, c, vpc, "db"), netCreateSG(t, c, vpc, "app")

	auth, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(db),
		IpPermissions: []types.IpPermission{
			{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(3306), ToPort: aws.Int32(3306),
				IpRanges:         []types.IpRange{{CidrIp: aws.String("10.0.1.0/24"), Description: aws.String("subnet a")}, {CidrIp: aws.String("10.0.2.0/24")}},
				UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(app)}}},
			{IpProtocol: aws.String("udp"), FromPort: aws.Int32(53), ToPort: aws.Int32(53), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/16")}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(auth.Return) || len(auth.SecurityGroupRules) != 4 {
		t.Fatalf("authorize: return %v, %d rules", aws.ToBool(auth.Return), len(auth.SecurityGroupRules))
	}
	for _, r := range auth.SecurityGroupRules {
		if *r.GroupId != db || aws.ToBool(r.IsEgress) || r.SecurityGroupRuleId == nil {
			t.Errorf("new rule %+v", r)
		}
	}
	if r := auth.SecurityGroupRules[2]; r.ReferencedGroupInfo == nil || *r.ReferencedGroupInfo.GroupId != app {
		t.Errorf("third rule should refer to %s: %+v", app, r)
	}

	g := netDescribeSG(t, c, db)
	if len(g.IpPermissions) != 2 {
		t.Fatalf("want 2 permissions (tcp/3306, udp/53), got %+v", g.IpPermissions)
	}
	tcp := g.IpPermissions[0]
	if *tcp.IpProtocol != "tcp" || *tcp.FromPort != 3306 || *tcp.ToPort != 3306 || len(tcp.IpRanges) != 2 ||
		len(tcp.UserIdGroupPairs) != 1 || *tcp.UserIdGroupPairs[0].GroupId != app || *tcp.UserIdGroupPairs[0].UserId != "111111111111" {
		t.Errorf("tcp permission not grouped: %+v", tcp)
	}
	if aws.ToString(tcp.IpRanges[0].Description) != "subnet a" {
		t.Errorf("description lost: %+v", tcp.IpRanges)
	}

	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(db), IpProtocol: aws.String("tcp"), FromPort: aws.Int32(3306), ToPort: aws.Int32(3306), CidrIp: aws.String("10.0.2.0/24"),
	})
	netWantCode(t, err, "InvalidPermission.Duplicate")

	rules, err := c.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{db}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rules.SecurityGroupRules) != 5 {
		t.Fatalf("want 4 ingress rules and the default egress rule, got %d", len(rules.SecurityGroupRules))
	}
	var egressID string
	for _, r := range rules.SecurityGroupRules {
		if aws.ToBool(r.IsEgress) {
			egressID = *r.SecurityGroupRuleId
		}
	}

	rev, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{
		GroupId: aws.String(db),
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(3306), ToPort: aws.Int32(3306),
			IpRanges:         []types.IpRange{{CidrIp: aws.String("10.0.1.0/24")}, {CidrIp: aws.String("10.0.2.0/24")}},
			UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(app)}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(rev.Return) {
		t.Error("revoke did not return true")
	}
	g = netDescribeSG(t, c, db)
	if len(g.IpPermissions) != 1 || *g.IpPermissions[0].IpProtocol != "udp" {
		t.Errorf("after revoke: %+v", g.IpPermissions)
	}
	_, err = c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{
		GroupId: aws.String(db), IpProtocol: aws.String("tcp"), FromPort: aws.Int32(3306), ToPort: aws.Int32(3306), CidrIp: aws.String("10.0.1.0/24"),
	})
	netWantCode(t, err, "InvalidPermission.NotFound")

	if _, err := c.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(db), SecurityGroupRuleIds: []string{egressID}}); err != nil {
		t.Fatal(err)
	}
	if g = netDescribeSG(t, c, db); len(g.IpPermissionsEgress) != 0 {
		t.Errorf("egress after revoking the default rule: %+v", g.IpPermissionsEgress)
	}
	// Egress rules with protocol -1 show no ports.
	if _, err := c.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{
		GroupId:       aws.String(db),
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/16")}}}},
	}); err != nil {
		t.Fatal(err)
	}
	if g = netDescribeSG(t, c, db); len(g.IpPermissionsEgress) != 1 || g.IpPermissionsEgress[0].FromPort != nil || g.IpPermissionsEgress[0].ToPort != nil {
		t.Errorf("egress: %+v", g.IpPermissionsEgress)
	}
	// The app group is no longer referenced and can go.
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(app)}); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultSecurityGroupByFilter(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	c := env.EC2("111111111111")
	vpc, _ := env.Network("111111111111", testenv.Zones(0)...)
	env.Network("111111111111", testenv.Zones(0)...) // another VPC with its own default group

	out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("group-name"), Values: []string{"default"}},
		{Name: aws.String("vpc-id"), Values: []string{vpc}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SecurityGroups) != 1 {
		t.Fatalf("want the VPC's default group, got %d groups", len(out.SecurityGroups))
	}
	g := out.SecurityGroups[0]
	if *g.GroupName != "default" || *g.VpcId != vpc {
		t.Errorf("default group %+v", g)
	}
	// It lets members of the group talk to each other.
	if len(g.IpPermissions) != 1 || len(g.IpPermissions[0].UserIdGroupPairs) != 1 || *g.IpPermissions[0].UserIdGroupPairs[0].GroupId != *g.GroupId {
		t.Errorf("default ingress %+v", g.IpPermissions)
	}
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: g.GroupId})
	netWantCode(t, err, "CannotDelete")
}

func TestSecurityGroupCrossAccount(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	p, cons := env.EC2("111111111111"), env.EC2("222222222222")
	vpc, _ := env.Network("111111111111", testenv.Zones(0)...)
	cvpc, _ := env.Network("222222222222", testenv.Zones(0)...)
	id := netCreateSG(t, p, vpc, "db")
	cid := netCreateSG(t, cons, cvpc, "db")

	_, err := cons.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	netWantCode(t, err, "InvalidGroup.NotFound")
	_, err = cons.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	netWantCode(t, err, "InvalidGroup.NotFound")
	_, err = cons.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(id), IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), CidrIp: aws.String("0.0.0.0/0"),
	})
	netWantCode(t, err, "InvalidGroup.NotFound")
	_, err = cons.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	netWantCode(t, err, "InvalidGroup.NotFound")
	// A rule cannot refer to a group in another account's VPC.
	_, err = cons.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(cid),
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("-1"),
			UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(id), UserId: aws.String("111111111111")}}}},
	})
	netWantCode(t, err, "InvalidGroup.NotFound")

	all, err := cons.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range all.SecurityGroups {
		if *g.OwnerId != "222222222222" {
			t.Errorf("consumer sees %s of %s", *g.GroupId, *g.OwnerId)
		}
	}
	if len(all.SecurityGroups) != 3 {
		t.Errorf("consumer should see the default groups of its VPC and of its default VPC, and db: got %d", len(all.SecurityGroups))
	}
	rules, err := cons.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules.SecurityGroupRules {
		if *r.GroupOwnerId != "222222222222" {
			t.Errorf("consumer sees rule %s of %s", *r.SecurityGroupRuleId, *r.GroupOwnerId)
		}
	}
	// The provider's group is intact.
	netDescribeSG(t, p, id)
}

func TestDescribeSecurityGroupsPagination(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	c := env.EC2("111111111111")
	vpc, _ := env.Network("111111111111", testenv.Zones(0)...)
	want := map[string]bool{}
	for i := range 11 {
		want[netCreateSG(t, c, vpc, fmt.Sprintf("g%02d", i))] = true
	}
	// The VPC's own default group (GroupNames would name the default VPC's: every
	// account has one since issue 20).
	def, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("group-name"), Values: []string{"default"}}}})
	if err != nil {
		t.Fatal(err)
	}
	want[*def.SecurityGroups[0].GroupId] = true

	seen := map[string]int{}
	pages := 0
	pg := ec2.NewDescribeSecurityGroupsPaginator(c, &ec2.DescribeSecurityGroupsInput{
		MaxResults: aws.Int32(5), Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}},
	})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.SecurityGroups) > 5 {
			t.Errorf("page of %d groups with MaxResults 5", len(out.SecurityGroups))
		}
		pages++
		for _, g := range out.SecurityGroups {
			seen[*g.GroupId]++
		}
	}
	if pages != 3 || len(seen) != 12 {
		t.Errorf("%d pages, %d groups; want 3 pages of 12 groups", pages, len(seen))
	}
	for id, n := range seen {
		if n != 1 || !want[id] {
			t.Errorf("group %s seen %d times (expected: %v)", id, n, want[id])
		}
	}
	_, err = c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(4)})
	netWantCode(t, err, "InvalidParameterValue")
}

func TestTagsAcrossResources(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	c := env.EC2("111111111111")
	vpc, subnets := env.Network("111111111111", testenv.Zones(1)...)
	sg := netCreateSG(t, c, vpc, "tagged")
	ids := []string{vpc, subnets[0], sg}

	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: ids, Tags: []types.Tag{
		{Key: aws.String("env"), Value: aws.String("prod")}, {Key: aws.String("team"), Value: aws.String("data")},
	}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("key"), Values: []string{"env"}}}})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, d := range out.Tags {
		if *d.Value != "prod" {
			t.Errorf("tag %+v", d)
		}
		kinds[*d.ResourceId] = string(d.ResourceType)
	}
	wantKinds := map[string]string{vpc: "vpc", subnets[0]: "subnet", sg: "security-group"}
	if fmt.Sprint(kinds) != fmt.Sprint(wantKinds) {
		t.Errorf("tagged resources %v, want %v", kinds, wantKinds)
	}

	// The resources' own Describe calls see the tags.
	tagEnv := []types.Filter{{Name: aws.String("tag:env"), Values: []string{"prod"}}}
	if v, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: tagEnv}); err != nil || len(v.Vpcs) != 1 {
		t.Errorf("DescribeVpcs by tag: %v, %v", v, err)
	}
	if s, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: tagEnv}); err != nil || len(s.Subnets) != 1 {
		t.Errorf("DescribeSubnets by tag: %v, %v", s, err)
	}
	if g, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: tagEnv}); err != nil || len(g.SecurityGroups) != 1 {
		t.Errorf("DescribeSecurityGroups by tag: %v, %v", g, err)
	}

	// Tags pages: 6 tags in pages of 5, each once.
	seen := map[string]bool{}
	pg := ec2.NewDescribeTagsPaginator(c, &ec2.DescribeTagsInput{MaxResults: aws.Int32(5)})
	pages := 0
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, d := range page.Tags {
			k := *d.ResourceId + "/" + *d.Key
			if seen[k] {
				t.Errorf("tag %s listed twice", k)
			}
			seen[k] = true
		}
	}
	if pages != 2 || len(seen) != 6 {
		t.Errorf("%d pages, %d tags; want 2 pages, 6 tags", pages, len(seen))
	}

	// A value that does not match leaves the tag; a key alone removes it.
	if _, err := c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: ids, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("staging")}}}); err != nil {
		t.Fatal(err)
	}
	if n := netTagCount(t, c, "env"); n != 3 {
		t.Errorf("after deleting env=staging: %d env tags, want 3", n)
	}
	if _, err := c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: ids[:2], Tags: []types.Tag{{Key: aws.String("env")}}}); err != nil {
		t.Fatal(err)
	}
	if n := netTagCount(t, c, "env"); n != 1 {
		t.Errorf("after deleting env from two resources: %d env tags, want 1", n)
	}
	if n := netTagCount(t, c, "team"); n != 3 {
		t.Errorf("team tags %d, want 3", n)
	}

	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"vpc-0123456789abcdef0"}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	netWantCode(t, err, "InvalidVpcID.NotFound")
}

func netTagCount(t *testing.T, c *ec2.Client, key string) int {
	t.Helper()
	out, err := c.DescribeTags(testenv.Ctx(t), &ec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("key"), Values: []string{key}}}})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Tags)
}

func TestDescribeRouteTablesMain(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	c := env.EC2("111111111111")
	vpc, subnets := env.Network("111111111111", testenv.Zones(2)...)
	env.Network("111111111111", testenv.Zones(0)...)

	out, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}},
		{Name: aws.String("association.main"), Values: []string{"true"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.RouteTables) != 1 {
		t.Fatalf("want the main route table, got %d tables", len(out.RouteTables))
	}
	rt := out.RouteTables[0]
	if *rt.VpcId != vpc || len(rt.Routes) != 1 || *rt.Routes[0].DestinationCidrBlock != "10.0.0.0/16" || *rt.Routes[0].GatewayId != "local" ||
		rt.Routes[0].State != types.RouteStateActive || rt.Routes[0].Origin != types.RouteOriginCreateRouteTable {
		t.Errorf("route table %+v routes %+v", rt, rt.Routes)
	}
	if len(rt.Associations) != 1 || !aws.ToBool(rt.Associations[0].Main) || rt.Associations[0].AssociationState.State != types.RouteTableAssociationStateCodeAssociated {
		t.Errorf("associations %+v", rt.Associations)
	}
	// Subnets use the main table implicitly: no explicit association matches.
	none, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{{Name: aws.String("association.subnet-id"), Values: subnets}}})
	if err != nil || len(none.RouteTables) != 0 {
		t.Errorf("association.subnet-id: %v, %v", none, err)
	}
	byID, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{*rt.RouteTableId}})
	if err != nil || len(byID.RouteTables) != 1 {
		t.Errorf("by ID: %v, %v", byID, err)
	}
	_, err = env.EC2("222222222222").DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{*rt.RouteTableId}})
	netWantCode(t, err, "InvalidRouteTableID.NotFound")
}

func TestDescribeNetworkAclsDefault(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	c := env.EC2("111111111111")
	vpc, subnets := env.Network("111111111111", testenv.Zones(3)...)

	out, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}},
		{Name: aws.String("default"), Values: []string{"true"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.NetworkAcls) != 1 {
		t.Fatalf("want the default ACL, got %d", len(out.NetworkAcls))
	}
	acl := out.NetworkAcls[0]
	if !aws.ToBool(acl.IsDefault) || *acl.VpcId != vpc || len(acl.Entries) != 4 {
		t.Errorf("ACL %+v", acl)
	}
	var rules []string
	for _, e := range acl.Entries {
		rules = append(rules, fmt.Sprintf("%v/%d/%s/%s", aws.ToBool(e.Egress), aws.ToInt32(e.RuleNumber), e.RuleAction, aws.ToString(e.Protocol)))
	}
	sort.Strings(rules)
	want := []string{"false/100/allow/-1", "false/32767/deny/-1", "true/100/allow/-1", "true/32767/deny/-1"}
	if !slices.Equal(rules, want) {
		t.Errorf("entries %v, want %v", rules, want)
	}
	var assoc []string
	for _, a := range acl.Associations {
		assoc = append(assoc, *a.SubnetId)
		if *a.NetworkAclId != *acl.NetworkAclId || a.NetworkAclAssociationId == nil {
			t.Errorf("association %+v", a)
		}
	}
	slices.Sort(assoc)
	slices.Sort(subnets)
	if !slices.Equal(assoc, subnets) {
		t.Errorf("associated subnets %v, want %v", assoc, subnets)
	}
	bySubnet, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []types.Filter{{Name: aws.String("association.subnet-id"), Values: subnets[:1]}}})
	if err != nil || len(bySubnet.NetworkAcls) != 1 || *bySubnet.NetworkAcls[0].NetworkAclId != *acl.NetworkAclId {
		t.Errorf("by subnet: %v, %v", bySubnet, err)
	}
}

func TestNetworkReadsSDK(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	c := env.EC2("111111111111")

	azs, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(azs.AvailabilityZones) != 3 || *azs.AvailabilityZones[0].ZoneName != "us-east-1a" || *azs.AvailabilityZones[0].ZoneId != "use1-az1" ||
		azs.AvailabilityZones[0].State != types.AvailabilityZoneStateAvailable {
		t.Errorf("zones %+v", azs.AvailabilityZones)
	}
	attrs, err := c.DescribeAccountAttributes(ctx, &ec2.DescribeAccountAttributesInput{AttributeNames: []types.AccountAttributeName{types.AccountAttributeNameSupportedPlatforms}})
	if err != nil {
		t.Fatal(err)
	}
	if len(attrs.AccountAttributes) != 1 || *attrs.AccountAttributes[0].AttributeValues[0].AttributeValue != "VPC" {
		t.Errorf("account attributes %+v", attrs.AccountAttributes)
	}
	enis, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{})
	if err != nil || len(enis.NetworkInterfaces) != 0 {
		t.Errorf("network interfaces of a new account: %v, %v", enis, err)
	}
}

func TestSecurityGroupCLI(t *testing.T) {
	env := testenv.Start(t)
	vpc, _ := env.Network("111111111111", testenv.Zones(0)...)
	created := env.AWS("111111111111", "ec2", "create-security-group", "--group-name", "mysql", "--description", "MySQL clients", "--vpc-id", vpc)
	id, _ := created["GroupId"].(string)
	if id == "" {
		t.Fatalf("create-security-group: %v", created)
	}
	auth := env.AWS("111111111111", "ec2", "authorize-security-group-ingress", "--group-id", id, "--protocol", "tcp", "--port", "3306", "--cidr", "10.0.1.0/24")
	if auth["Return"] != true {
		t.Errorf("authorize-security-group-ingress: %v", auth)
	}
	out := env.AWS("111111111111", "ec2", "describe-security-groups", "--group-ids", id)
	groups, _ := out["SecurityGroups"].([]any)
	if len(groups) != 1 {
		t.Fatalf("describe-security-groups: %v", out)
	}
	g := groups[0].(map[string]any)
	perms, _ := g["IpPermissions"].([]any)
	if len(perms) != 1 {
		t.Fatalf("IpPermissions %v", g["IpPermissions"])
	}
	p := perms[0].(map[string]any)
	ranges, _ := p["IpRanges"].([]any)
	if p["IpProtocol"] != "tcp" || p["FromPort"] != float64(3306) || p["ToPort"] != float64(3306) || len(ranges) != 1 ||
		ranges[0].(map[string]any)["CidrIp"] != "10.0.1.0/24" {
		t.Errorf("permission %v", p)
	}
	if g["GroupName"] != "mysql" || g["VpcId"] != vpc {
		t.Errorf("group %v", g)
	}
}

func TestNetworkInterfacesOfLoadBalancer(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	c, elb := env.EC2("111111111111"), env.ELB("111111111111")
	vpc, subnets := env.Network("111111111111", testenv.Zones(2)...)
	sg := netCreateSG(t, c, vpc, "nlb")

	lb, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String("db"), Type: elbtypes.LoadBalancerTypeEnumNetwork, Scheme: elbtypes.LoadBalancerSchemeEnumInternal,
		Subnets: subnets, SecurityGroups: []string{sg},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := lb.LoadBalancers[0].LoadBalancerArn

	out, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}},
		{Name: aws.String("requester-managed"), Values: []string{"true"}},
		{Name: aws.String("group-id"), Values: []string{sg}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.NetworkInterfaces) != 2 {
		t.Fatalf("want one interface per subnet, got %d", len(out.NetworkInterfaces))
	}
	seen := map[string]bool{}
	for _, e := range out.NetworkInterfaces {
		seen[*e.SubnetId] = true
		if e.InterfaceType != types.NetworkInterfaceTypeNetworkLoadBalancer || !aws.ToBool(e.RequesterManaged) ||
			aws.ToString(e.RequesterId) != "amazon-elb" || e.Status != types.NetworkInterfaceStatusInUse ||
			aws.ToString(e.OwnerId) != "111111111111" || aws.ToString(e.MacAddress) == "" || aws.ToString(e.AvailabilityZone) == "" {
			t.Errorf("interface %+v", e)
		}
		if e.Attachment == nil || e.Attachment.Status != types.AttachmentStatusAttached || aws.ToString(e.Attachment.InstanceOwnerId) != "amazon-elb" {
			t.Errorf("attachment %+v", e.Attachment)
		}
		if len(e.Groups) != 1 || *e.Groups[0].GroupId != sg || aws.ToString(e.Groups[0].GroupName) != "nlb" {
			t.Errorf("groups %+v", e.Groups)
		}
		if len(e.PrivateIpAddresses) != 1 || !aws.ToBool(e.PrivateIpAddresses[0].Primary) || *e.PrivateIpAddresses[0].PrivateIpAddress != *e.PrivateIpAddress {
			t.Errorf("addresses %+v", e.PrivateIpAddresses)
		}
		byIP, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{
			{Name: aws.String("addresses.private-ip-address"), Values: []string{*e.PrivateIpAddress}},
			{Name: aws.String("subnet-id"), Values: []string{*e.SubnetId}},
		}})
		if err != nil || len(byIP.NetworkInterfaces) != 1 || *byIP.NetworkInterfaces[0].NetworkInterfaceId != *e.NetworkInterfaceId {
			t.Errorf("by address: %v, %v", byIP, err)
		}
	}
	if len(seen) != 2 {
		t.Errorf("interfaces in subnets %v, want %v", seen, subnets)
	}
	// The consumer sees none of them.
	_, err = env.EC2("222222222222").DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{*out.NetworkInterfaces[0].NetworkInterfaceId}})
	netWantCode(t, err, "InvalidNetworkInterfaceID.NotFound")

	// The load balancer holds the group.
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(sg)})
	netWantCode(t, err, "DependencyViolation")
	if _, err := elb.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: arn}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(sg)}); err != nil {
		t.Fatalf("deleting the group after its load balancer: %v", err)
	}
}

// TestTagsOnPrivateLinkRecords tags an endpoint service and an endpoint — records
// that tags.go knows only as JSON — and checks that their own Describe calls see
// the tags and that the rest of each record is intact.
func TestTagsOnPrivateLinkRecords(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	p, cons, elb := env.EC2("111111111111"), env.EC2("222222222222"), env.ELB("111111111111")
	_, subnets := env.Network("111111111111", testenv.Zones(1)...)
	cvpc, csubnets := env.Network("222222222222", testenv.Zones(1)...)

	lb, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String("svc"), Type: elbtypes.LoadBalancerTypeEnumNetwork, Scheme: elbtypes.LoadBalancerSchemeEnumInternal, Subnets: subnets,
	})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := p.CreateVpcEndpointServiceConfiguration(ctx, &ec2.CreateVpcEndpointServiceConfigurationInput{
		NetworkLoadBalancerArns: []string{*lb.LoadBalancers[0].LoadBalancerArn}, AcceptanceRequired: aws.Bool(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	svcID, svcName := *svc.ServiceConfiguration.ServiceId, *svc.ServiceConfiguration.ServiceName
	if _, err := p.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{svcID}, Tags: []types.Tag{{Key: aws.String("tier"), Value: aws.String("db")}}}); err != nil {
		t.Fatal(err)
	}
	conf, err := p.DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{ServiceIds: []string{svcID}})
	if err != nil {
		t.Fatal(err)
	}
	got := conf.ServiceConfigurations[0]
	if len(got.Tags) != 1 || *got.Tags[0].Key != "tier" || *got.Tags[0].Value != "db" || *got.ServiceName != svcName ||
		len(got.NetworkLoadBalancerArns) != 1 {
		t.Errorf("service after CreateTags: %+v", got)
	}
	_, err = cons.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{svcID}, Tags: []types.Tag{{Key: aws.String("x"), Value: aws.String("y")}}})
	netWantCode(t, err, "InvalidVpcEndpointServiceId.NotFound")

	if _, err := p.ModifyVpcEndpointServicePermissions(ctx, &ec2.ModifyVpcEndpointServicePermissionsInput{
		ServiceId: aws.String(svcID), AddAllowedPrincipals: []string{"arn:aws:iam::222222222222:root"},
	}); err != nil {
		t.Fatal(err)
	}
	ep, err := cons.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{
		VpcId: aws.String(cvpc), ServiceName: aws.String(svcName), VpcEndpointType: types.VpcEndpointTypeInterface, SubnetIds: csubnets,
	})
	if err != nil {
		t.Fatal(err)
	}
	epID := *ep.VpcEndpoint.VpcEndpointId
	if _, err := cons.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{epID}, Tags: []types.Tag{{Key: aws.String("app"), Value: aws.String("import")}}}); err != nil {
		t.Fatal(err)
	}
	eps, err := cons.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{epID}})
	if err != nil {
		t.Fatal(err)
	}
	if e := eps.VpcEndpoints[0]; len(e.Tags) != 1 || *e.Tags[0].Key != "app" || *e.ServiceName != svcName || len(e.NetworkInterfaceIds) != 1 {
		t.Errorf("endpoint after CreateTags: %+v", e)
	}
	tags, err := cons.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("resource-type"), Values: []string{"vpc-endpoint"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags.Tags) != 1 || *tags.Tags[0].ResourceId != epID || tags.Tags[0].ResourceType != types.ResourceTypeVpcEndpoint {
		t.Errorf("DescribeTags vpc-endpoint: %+v", tags.Tags)
	}
	if _, err := cons.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{epID}}); err != nil {
		t.Fatal(err)
	}
	if eps, err = cons.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{epID}}); err != nil || len(eps.VpcEndpoints[0].Tags) != 0 {
		t.Errorf("endpoint after DeleteTags: %v, %v", eps, err)
	}
}
