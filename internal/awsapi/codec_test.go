package awsapi

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"strait/internal/model"
)

func mustModels(t testing.TB) (ec2, elb *apiModel) {
	t.Helper()
	var err error
	if ec2, err = loadModel("ec2.json.gz"); err != nil {
		t.Fatal(err)
	}
	if elb, err = loadModel("elbv2.json.gz"); err != nil {
		t.Fatal(err)
	}
	return ec2, elb
}

type testDescribe struct {
	VpcIds     []string
	Filters    []Filter
	MaxResults int32
	DryRun     bool
}

type testCreateVpc struct {
	CidrBlock         string
	TagSpecifications []TagSpecification
}

type testTarget struct {
	Id               string
	Port             *int32
	AvailabilityZone string
}

type testRegister struct {
	TargetGroupArn string
	Targets        []testTarget
}

type testCreateLB struct {
	Name    string
	Subnets []string
	Scheme  string
}

func TestDecodeEC2(t *testing.T) {
	ec2, _ := mustModels(t)
	d := &decoder{m: ec2}
	form, _ := url.ParseQuery("Action=DescribeVpcs&Version=2016-11-15&VpcId.1=vpc-1&VpcId.2=vpc-2&Filter.1.Name=tag:Name&Filter.1.Value.1=a&Filter.1.Value.2=b&Filter.2.Name=state&Filter.2.Value.1=available&MaxResults=10&DryRun=true")
	var req testDescribe
	if err := d.decodeRequest(form, "DescribeVpcs", &req); err != nil {
		t.Fatal(err)
	}
	if strings.Join(req.VpcIds, ",") != "vpc-1,vpc-2" || len(req.Filters) != 2 || req.Filters[0].Name != "tag:Name" ||
		strings.Join(req.Filters[0].Values, ",") != "a,b" || req.Filters[1].Values[0] != "available" || req.MaxResults != 10 || !req.DryRun {
		t.Fatalf("decoded %+v", req)
	}

	form, _ = url.ParseQuery("CidrBlock=10.0.0.0/16&TagSpecification.1.ResourceType=vpc&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=x&TagSpecification.1.Tag.2.Key=k")
	var cv testCreateVpc
	if err := d.decodeRequest(form, "CreateVpc", &cv); err != nil {
		t.Fatal(err)
	}
	if cv.CidrBlock != "10.0.0.0/16" || len(cv.TagSpecifications) != 1 || len(cv.TagSpecifications[0].Tags) != 2 || cv.TagSpecifications[0].Tags[0].Value != "x" {
		t.Fatalf("decoded %+v", cv)
	}
}

func TestDecodeErrors(t *testing.T) {
	ec2, elb := mustModels(t)
	cases := []struct {
		m      *apiModel
		op     string
		query  string
		code   string
		target error
	}{
		{ec2, "DescribeVpcs", "Bogus=1", "UnknownParameter", model.ErrInvalid},
		{ec2, "DescribeVpcs", "Filter.x.Name=a", "UnknownParameter", model.ErrInvalid},
		{ec2, "DescribeVpcs", "Filter.1.Nme=a", "UnknownParameter", model.ErrInvalid},
		{ec2, "DescribeVpcs", "MaxResults=ten", "", model.ErrInvalid},
		{ec2, "DescribeVpcs", "DryRun=maybe", "", model.ErrInvalid},
		{ec2, "DeleteVpc", "", "", model.ErrMissing},
		{ec2, "DescribeVpcs", "a..b=1", "UnknownParameter", model.ErrInvalid},
		{elb, "CreateLoadBalancer", "Name=x&Scheme=public", "", model.ErrInvalid},
		{elb, "CreateLoadBalancer", "Subnets.member.1=s", "", model.ErrMissing},
		{elb, "CreateLoadBalancer", "Name=x&Subnets.1=s", "UnknownParameter", model.ErrInvalid},
		{elb, "RegisterTargets", "TargetGroupArn=a&Targets.member.1.Port=80", "", model.ErrMissing},
	}
	for _, c := range cases {
		form, _ := url.ParseQuery(c.query)
		var out struct{}
		err := (&decoder{m: c.m}).decodeRequest(form, c.op, &out)
		var de *model.Error
		if !errors.As(err, &de) || !errors.Is(err, c.target) || (c.code != "" && reasonCodes[de.Reason] != c.code) {
			t.Errorf("%s %q: got %v, want %v (code %q)", c.op, c.query, err, c.target, c.code)
		}
	}
}

func TestDecodeQueryProtocol(t *testing.T) {
	_, elb := mustModels(t)
	d := &decoder{m: elb}
	form, _ := url.ParseQuery("Name=nlb&Subnets.member.1=subnet-a&Subnets.member.2=subnet-b&Scheme=internal")
	var lb testCreateLB
	if err := d.decodeRequest(form, "CreateLoadBalancer", &lb); err != nil {
		t.Fatal(err)
	}
	if lb.Name != "nlb" || strings.Join(lb.Subnets, ",") != "subnet-a,subnet-b" || lb.Scheme != "internal" {
		t.Fatalf("decoded %+v", lb)
	}
	form, _ = url.ParseQuery("TargetGroupArn=arn&Targets.member.2.Id=10.0.0.2&Targets.member.1.Id=10.0.0.1&Targets.member.1.Port=3306")
	var rt testRegister
	if err := d.decodeRequest(form, "RegisterTargets", &rt); err != nil {
		t.Fatal(err)
	}
	if len(rt.Targets) != 2 || rt.Targets[0].Id != "10.0.0.1" || *rt.Targets[0].Port != 3306 || rt.Targets[1].Port != nil {
		t.Fatalf("decoded %+v", rt)
	}
	// An empty list is written as the bare name with an empty value.
	form, _ = url.ParseQuery("Name=nlb&Subnets=")
	lb = testCreateLB{}
	if err := d.decodeRequest(form, "CreateLoadBalancer", &lb); err != nil || lb.Subnets == nil || len(lb.Subnets) != 0 {
		t.Fatalf("empty list: %v %+v", err, lb)
	}
}

type testVpcOut struct {
	Vpcs      []Vpc
	NextToken string
}

type testLBOut struct {
	LoadBalancers []struct {
		LoadBalancerName string
		Port             int32
	}
}

func TestEncode(t *testing.T) {
	ec2, _ := mustModels(t)
	doc, err := ec2.encodeResponse("DescribeVpcs", "req-1", &testVpcOut{Vpcs: []Vpc{{VpcId: "vpc-1", CidrBlock: "10.0.0.0/16", Tags: []Tag{{Key: "a&b", Value: "<x>"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := `<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId><vpcSet><item><vpcId>vpc-1</vpcId><cidrBlock>10.0.0.0/16</cidrBlock><isDefault>false</isDefault><tagSet><item><key>a&amp;b</key><value>&lt;x&gt;</value></item></tagSet></item></vpcSet></DescribeVpcsResponse>`
	if !strings.HasSuffix(string(doc), want) {
		t.Fatalf("got\n%s\nwant suffix\n%s", doc, want)
	}
	doc, err = ec2.encodeResponse("DescribeVpcs", "r", &testVpcOut{Vpcs: []Vpc{}})
	if err != nil || !strings.Contains(string(doc), "<vpcSet/>") {
		t.Fatalf("empty list: %v %s", err, doc)
	}
	// A field that is not a member of the shape is a programming error.
	if _, err := ec2.encodeResponse("DescribeVpcs", "r", &testLBOut{}); err == nil {
		t.Fatal("encoding a foreign field succeeded")
	}
}

func TestEncodeQueryProtocol(t *testing.T) {
	_, elb := mustModels(t)
	type lb struct {
		LoadBalancerName string
		Type             string
	}
	doc, err := elb.encodeResponse("DescribeLoadBalancers", "req-2", &struct{ LoadBalancers []lb }{[]lb{{"a", "network"}, {"b", "network"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := `<DescribeLoadBalancersResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeLoadBalancersResult><LoadBalancers><member><LoadBalancerName>a</LoadBalancerName><Type>network</Type></member><member><LoadBalancerName>b</LoadBalancerName><Type>network</Type></member></LoadBalancers></DescribeLoadBalancersResult><ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata></DescribeLoadBalancersResponse>`
	if !strings.HasSuffix(string(doc), want) {
		t.Fatalf("got\n%s\nwant suffix\n%s", doc, want)
	}
}

// FuzzDecode feeds arbitrary query strings to the decoder of several operations of
// both protocols: it must return an error or a value, never panic.
func FuzzDecode(f *testing.F) {
	ec2, elb := mustModels(f)
	for _, seed := range []string{
		"VpcId.1=vpc-1&Filter.1.Name=a&Filter.1.Value.1=b",
		"CidrBlock=10.0.0.0/16&TagSpecification.1.Tag.1.Key=k",
		"Name=x&Subnets.member.1=s&Tags.member.1.Key=k",
		"TargetGroupArn=a&Targets.member.1.Id=i&Targets.member.1.Port=1",
		"Attributes.member.1.Key=k&Attributes.member.1.Value=v",
		"Filter.1.Value=&Filter..=&.=.",
		"MaxResults=99999999999&DryRun=TRUE",
	} {
		f.Add(seed)
	}
	type anyReq struct {
		VpcIds            []string
		Filters           []Filter
		MaxResults        int32
		CidrBlock         string
		TagSpecifications []TagSpecification
		DryRun            bool
	}
	type anyELB struct {
		Name           string
		Subnets        []string
		TargetGroupArn string
		Targets        []testTarget
	}
	f.Fuzz(func(t *testing.T, q string) {
		form, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		for _, op := range []string{"DescribeVpcs", "CreateVpc", "DeleteVpc", "DescribeSubnets"} {
			var r anyReq
			_ = (&decoder{m: ec2}).decodeRequest(form, op, &r)
		}
		for _, op := range []string{"CreateLoadBalancer", "RegisterTargets", "ModifyTargetGroupAttributes", "DescribeTags"} {
			var r anyELB
			_ = (&decoder{m: elb}).decodeRequest(form, op, &r)
		}
	})
}

// TestDecodeEmbeddedRuleRequest checks that the decoder fills the members of the
// security-group rule requests promoted from their embedded ruleRequest and
// legacyRule, in all four of them.
func TestDecodeEmbeddedRuleRequest(t *testing.T) {
	ec2, _ := mustModels(t)
	d := &decoder{m: ec2}
	form, _ := url.ParseQuery("GroupId=sg-1&CidrIp=10.0.0.0/8&IpProtocol=tcp&FromPort=80&ToPort=81&SourceSecurityGroupName=web&SourceSecurityGroupOwnerId=111122223333&DryRun=true&IpPermissions.1.IpProtocol=udp&IpPermissions.1.IpRanges.1.CidrIp=10.1.0.0/16")
	check := func(action string, r ruleRequest) {
		t.Helper()
		l := r.legacyRule
		if r.GroupId != "sg-1" || !r.DryRun || len(r.IpPermissions) != 1 || r.IpPermissions[0].IpRanges[0].CidrIp != "10.1.0.0/16" ||
			l.CidrIp != "10.0.0.0/8" || l.IpProtocol != "tcp" || l.FromPort == nil || *l.FromPort != 80 || l.ToPort == nil || *l.ToPort != 81 ||
			l.SourceSecurityGroupName != "web" || l.SourceSecurityGroupOwnerId != "111122223333" {
			t.Errorf("%s decoded %+v", action, r)
		}
	}
	var ai authorizeSecurityGroupIngressRequest
	var ae authorizeSecurityGroupEgressRequest
	var ri revokeSecurityGroupIngressRequest
	var re revokeSecurityGroupEgressRequest
	for action, req := range map[string]any{
		"AuthorizeSecurityGroupIngress": &ai, "AuthorizeSecurityGroupEgress": &ae,
		"RevokeSecurityGroupIngress": &ri, "RevokeSecurityGroupEgress": &re,
	} {
		if err := d.decodeRequest(form, action, req); err != nil {
			t.Fatalf("%s: %v", action, err)
		}
	}
	check("AuthorizeSecurityGroupIngress", ai.ruleRequest)
	check("AuthorizeSecurityGroupEgress", ae.ruleRequest)
	check("RevokeSecurityGroupIngress", ri.ruleRequest)
	check("RevokeSecurityGroupEgress", re.ruleRequest)

	form, _ = url.ParseQuery("GroupName=db&TagSpecification.1.ResourceType=security-group-rule")
	var ai2 authorizeSecurityGroupIngressRequest
	if err := d.decodeRequest(form, "AuthorizeSecurityGroupIngress", &ai2); err != nil || ai2.GroupName != "db" || len(ai2.TagSpecifications) != 1 {
		t.Errorf("AuthorizeSecurityGroupIngress: %v %+v", err, ai2)
	}
	form, _ = url.ParseQuery("GroupName=db&SecurityGroupRuleId.1=sgr-1")
	var ri2 revokeSecurityGroupIngressRequest
	if err := d.decodeRequest(form, "RevokeSecurityGroupIngress", &ri2); err != nil || ri2.GroupName != "db" || len(ri2.SecurityGroupRuleIds) != 1 {
		t.Errorf("RevokeSecurityGroupIngress: %v %+v", err, ri2)
	}
}
