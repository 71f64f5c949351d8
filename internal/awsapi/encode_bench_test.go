package awsapi

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkEncodeDescribeVpcEndpoints writes a DescribeVpcEndpoints response of
// 50 endpoints (a page a console or Terraform reads) as the model-driven XML.
func BenchmarkEncodeDescribeVpcEndpoints(b *testing.B) {
	ec2, _ := mustModels(b)
	out := &describeEndpointsResponse{}
	for i := range 50 {
		id := fmt.Sprintf("vpce-0123456789abc%04d", i)
		out.VpcEndpoints = append(out.VpcEndpoints, VpcEndpoint{
			VpcEndpointId: id, VpcEndpointType: "Interface", VpcId: "vpc-0123456789abcdef0",
			ServiceName: "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0", State: "available",
			SubnetIds:     []string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"},
			Groups:        []SecurityGroupIdentifier{{GroupId: "sg-0123456789abcdef0", GroupName: "default"}},
			IpAddressType: "ipv4", DnsOptions: &DnsOptions{DnsRecordIpType: "ipv4"},
			NetworkInterfaceIds: []string{"eni-0123456789abcdef0", "eni-0123456789abcdef1"},
			DnsEntries:          []DnsEntry{{DnsName: id + "-abcdefgh.vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com", HostedZoneId: "Z7HUB22UULQXV"}},
			CreationTimestamp:   time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), Tags: []Tag{{Key: "Name", Value: "consumer"}},
			OwnerId: "222222222222", ServiceRegion: "us-east-1",
		})
	}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		doc, err := ec2.encodeResponse("DescribeVpcEndpoints", "req-1", out)
		if err != nil {
			b.Fatal(err)
		}
		size = len(doc)
	}
	b.SetBytes(int64(size))
}
