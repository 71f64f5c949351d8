package awsapi_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"strait/internal/testenv"
)

// TestEndpointPaging follows what the API reference says of MaxResults for the
// endpoint calls: DescribeVpcEndpoints and DescribeVpcEndpointServices set no
// minimum (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpoints.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpointServices.html);
// for them and DescribeVpcEndpointServiceConfigurations, "if the value is greater
// than 1,000, we return only 1,000 items" — not an error
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpointServiceConfigurations.html).
func TestEndpointPaging(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	p := plNetwork(t, env, provider, "us-east-1a")
	var names []string
	for _, lb := range []string{"page-a", "page-b"} {
		svc := plService(t, env, provider, plNLB(t, env, provider, lb, p.subnets["us-east-1a"]), aws.Bool(false), "")
		plWaitService(t, env, provider, *svc.ServiceId)
		plAllow(t, env, provider, *svc.ServiceId, "arn:aws:iam::"+consumer+":root")
		names = append(names, *svc.ServiceName)
	}
	c := plNetwork(t, env, consumer, "us-east-1a")
	for _, name := range names {
		plEndpoint(t, env, consumer, c, name, nil, "us-east-1a")
	}
	e := env.EC2(consumer)

	eps, err := e.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{MaxResults: aws.Int32(1)})
	if err != nil || len(eps.VpcEndpoints) != 1 || eps.NextToken == nil {
		t.Fatalf("DescribeVpcEndpoints MaxResults=1: %v %+v", err, eps)
	}
	rest, err := e.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{MaxResults: aws.Int32(1), NextToken: eps.NextToken})
	if err != nil || len(rest.VpcEndpoints) != 1 || *rest.VpcEndpoints[0].VpcEndpointId == *eps.VpcEndpoints[0].VpcEndpointId {
		t.Fatalf("DescribeVpcEndpoints second page: %v %+v", err, rest)
	}
	if all, err := e.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{MaxResults: aws.Int32(5000)}); err != nil || len(all.VpcEndpoints) != 2 || all.NextToken != nil {
		t.Fatalf("DescribeVpcEndpoints MaxResults=5000: %v %+v", err, all)
	}

	svcs, err := e.DescribeVpcEndpointServices(ctx, &ec2.DescribeVpcEndpointServicesInput{MaxResults: aws.Int32(1)})
	if err != nil || len(svcs.ServiceDetails) != 1 || svcs.NextToken == nil {
		t.Fatalf("DescribeVpcEndpointServices MaxResults=1: %v %+v", err, svcs)
	}

	pe := env.EC2(provider)
	if cfgs, err := pe.DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{MaxResults: aws.Int32(2000)}); err != nil || len(cfgs.ServiceConfigurations) != 2 {
		t.Fatalf("DescribeVpcEndpointServiceConfigurations MaxResults=2000: %v %+v", err, cfgs)
	}
	_, err = pe.DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{MaxResults: aws.Int32(4)})
	netWantCode(t, err, "InvalidParameterValue")
	// Calls whose model sets 5–1000 still refuse values outside.
	_, err = pe.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{MaxResults: aws.Int32(1)})
	netWantCode(t, err, "InvalidParameterValue")
}
