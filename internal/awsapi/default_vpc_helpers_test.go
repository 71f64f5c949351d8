package awsapi_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"strait/internal/testenv"
)

// deleteDefaultVpc deletes an account's default VPC and its default subnets, for
// tests that need an account without one.
func deleteDefaultVpc(t *testing.T, env *testenv.Env, acct string) {
	t.Helper()
	ctx := testenv.Ctx(t)
	e := env.EC2(acct)
	vpcs, err := e.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vpcs.Vpcs {
		subnets, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{*v.VpcId}}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range subnets.Subnets {
			if _, err := e.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: s.SubnetId}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: v.VpcId}); err != nil {
			t.Fatal(err)
		}
	}
}
