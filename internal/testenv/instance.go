package testenv

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// ImageID is the AMI ID tests launch instances with (any well-formed ID works).
const ImageID = "ami-0abcdef1234567890"

// RunInstance launches one instance of acct in subnet and waits until it is
// running (with the netns data plane: its namespace is wired). It returns the
// instance ID and its private IP address.
func (e *Env) RunInstance(acct, subnet string) (id, ip string) {
	e.T.Helper()
	ctx := Ctx(e.T)
	c := e.EC2(acct)
	out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ImageID), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: aws.String(subnet)})
	if err != nil {
		e.T.Fatalf("RunInstances: %v", err)
	}
	id, ip = *out.Instances[0].InstanceId, *out.Instances[0].PrivateIpAddress
	Eventually(e.T, 2*time.Minute, "instance "+id+" running", func() error {
		d, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			return err
		}
		if st := d.Reservations[0].Instances[0].State.Name; st != ec2types.InstanceStateNameRunning {
			return fmt.Errorf("state %s", st)
		}
		return nil
	})
	return id, ip
}
