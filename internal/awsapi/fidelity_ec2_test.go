package awsapi_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"strait/internal/testenv"
)

// TestFidelityEC2 checks, with aws-sdk-go-v2, the EC2 answers in which an AWS
// emulator's test suite (recorded against AWS) found Strait diverging. Each case
// cites the AWS documentation it follows.
func TestFidelityEC2(t *testing.T) {
	env := testenv.Start(t)
	e := env.EC2(provider)

	// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSecurityGroupRules.html:
	// a group-id filter that names no security group ID is InvalidGroupId.Malformed.
	t.Run("DescribeSecurityGroupRules/malformed group-id filter", func(t *testing.T) {
		_, err := e.DescribeSecurityGroupRules(testenv.Ctx(t), &ec2.DescribeSecurityGroupRulesInput{
			Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{"foobar"}}}})
		netWantCode(t, err, "InvalidGroupId.Malformed")
		out, err := e.DescribeSecurityGroupRules(testenv.Ctx(t), &ec2.DescribeSecurityGroupRulesInput{
			Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{"sg-0123456789abcdef0"}}}})
		if err != nil || len(out.SecurityGroupRules) != 0 {
			t.Errorf("a well-formed group ID that matches nothing: %v %+v", err, out)
		}
	})
}
