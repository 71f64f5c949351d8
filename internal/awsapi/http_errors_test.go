package awsapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"strait/internal/testenv"
)

// TestMalformedRequests sends requests no SDK would send: every answer is an AWS error
// envelope with a 4xx status, never a 500 or an HTML page.
func TestMalformedRequests(t *testing.T) {
	env := testenv.Start(t)
	base := env.Server.URL()
	cases := []struct {
		name    string
		service string
		body    string
		status  int
		want    string
	}{
		{"unknown EC2 action", "ec2", "Action=LaunchRockets&Version=2016-11-15", 400, "<Response><Errors><Error><Code>InvalidAction</Code><Message>The action LaunchRockets is not valid for this web service.</Message>"},
		{"unknown ELBv2 action", "elasticloadbalancing", "Action=LaunchRockets&Version=2015-12-01", 400, `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type><Code>InvalidAction</Code>`},
		{"missing action", "ec2", "Version=2016-11-15", 400, "<Code>MissingAction</Code>"},
		{"missing parameter", "ec2", "Action=DeleteVpc&Version=2016-11-15", 400, "<Code>MissingParameter</Code><Message>The request must contain the parameter VpcId</Message>"},
		{"bad enum", "ec2", "Action=DescribeVpcAttribute&Version=2016-11-15&VpcId=vpc-12345678&Attribute=colour", 400, "<Code>InvalidParameterValue</Code>"},
		{"bad integer", "ec2", "Action=DescribeVpcs&Version=2016-11-15&MaxResults=lots", 400, "<Code>InvalidParameterValue</Code>"},
		{"bad list index", "ec2", "Action=DescribeVpcs&Version=2016-11-15&VpcId.x=vpc-1", 400, "<Code>UnknownParameter</Code>"},
		{"malformed ID", "ec2", "Action=DeleteVpc&Version=2016-11-15&VpcId=vpc-nothex", 400, "<Code>InvalidVpcID.Malformed</Code>"},
		{"ELBv2 validation", "elasticloadbalancing", "Action=CreateLoadBalancer&Version=2015-12-01&Name=-bad-", 400, "<Code>ValidationError</Code>"},
		{"ELBv2 not found", "elasticloadbalancing", "Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.1=nope", 400, "<Code>LoadBalancerNotFound</Code>"},
		{"broken form", "ec2", "Action=DescribeVpcs&%zz", 400, "<Code>MalformedQueryString</Code>"},
	}
	for _, c := range cases {
		status, body := signedPost(t, base, c.service, provider, c.body)
		if status != c.status || !strings.Contains(string(body), c.want) {
			t.Errorf("%s: %d\n%s\nwant %d and %s", c.name, status, body, c.status, c.want)
		}
	}

	for _, r := range []struct {
		method, path, ctype, body string
		status                    int
		want                      string
	}{
		{"GET", "/?Action=DescribeVpcs", "", "", 403, "<Code>MissingAuthenticationToken</Code>"},
		{"GET", "/some/page.html", "", "", 403, "<Code>MissingAuthenticationToken</Code>"},
		{"POST", "/", "application/json", `{"Action":"DescribeVpcs"}`, 400, "<Code>InvalidParameterValue</Code>"},
		{"DELETE", "/", "", "", 400, "<Code>InvalidAction</Code>"},
		{"POST", "/", "application/x-www-form-urlencoded", "Action=DescribeVpcs&" + strings.Repeat("x", 5<<20), 413, "<Code>RequestEntityTooLarge</Code>"},
	} {
		req, err := http.NewRequest(r.method, base+r.path, strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		if r.ctype != "" {
			req.Header.Set("Content-Type", r.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != r.status || !strings.Contains(string(body), r.want) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
			t.Errorf("%s %s (%s): %d %s\n%s\nwant %d and %s", r.method, r.path, r.ctype, resp.StatusCode, resp.Header.Get("Content-Type"), body, r.status, r.want)
		}
	}
}
