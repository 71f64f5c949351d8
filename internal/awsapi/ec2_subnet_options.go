package awsapi

import "strait/internal/model"

// PrivateDnsNameOptionsOnLaunch is the EC2 shape of a subnet's hostname options
// for the instances launched in it.
type PrivateDnsNameOptionsOnLaunch struct {
	HostnameType                    string
	EnableResourceNameDnsARecord    bool
	EnableResourceNameDnsAAAARecord bool
}

// BlockPublicAccessStates is the EC2 shape of a VPC's or subnet's block public
// access mode; Strait has no internet gateways, so it is always "off".
type BlockPublicAccessStates struct {
	InternetGatewayBlockMode string
}

// subnetDNSOptions are a subnet's hostname options: instances are named by their
// IP (ip-10-0-1-5.ec2.internal), as AWS's default "ip-name"
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_PrivateDnsNameOptionsOnLaunch.html).
func subnetDNSOptions(model.Subnet) *PrivateDnsNameOptionsOnLaunch {
	return &PrivateDnsNameOptionsOnLaunch{HostnameType: "ip-name"}
}
