package agent

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Gateway is a subnet's router address (its base + 1), as in AWS.
func Gateway(subnet netip.Prefix) netip.Addr { return subnet.Masked().Addr().Next() }

// Resolver is the address of a VPC's DNS resolver (its CIDR base + 2), as in AWS.
func Resolver(vpc netip.Prefix) netip.Addr { return vpc.Masked().Addr().Next().Next() }

// ipNet converts an address with a prefix length to the net package's form.
func ipNet(a netip.Addr, bits int) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, a.BitLen())}
}

// findSubnet finds a subnet of v by ID.
func findSubnet(v VPC, id string) (Subnet, error) {
	for _, s := range v.Subnets {
		if s.ID == id {
			return s, nil
		}
	}
	return Subnet{}, fmt.Errorf("subnet %s is not in %s", id, v.ID)
}

// searchDomain is the DNS search domain of instances in a zone: ec2.internal in
// us-east-1, <region>.compute.internal elsewhere, "" when the zone is not a
// regional zone name.
func searchDomain(az string) string {
	parts := strings.SplitN(az, "-", 4)
	if len(parts) < 3 {
		return ""
	}
	num := strings.TrimRight(parts[2], "abcdefghijklmnopqrstuvwxyz")
	if num == "" || num == parts[2] && len(parts) == 3 {
		return ""
	}
	region := parts[0] + "-" + parts[1] + "-" + num
	if region == "us-east-1" {
		return "ec2.internal"
	}
	return region + ".compute.internal"
}
