package awsapi

import (
	"net/http"
	"sort"
	"strings"
)

// ipv4Only refuses the parameters of CreateVpc and CreateSubnet that Strait
// cannot honour — IPv6 blocks, IPAM pools, Outposts — with UnsupportedOperation
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html),
// instead of creating an IPv4-only resource and pretending. given maps each such
// parameter to whether the request set it.
func ipv4Only(action string, given map[string]bool) error {
	return unsupported(action, "Strait's VPCs and subnets are IPv4 only, with addresses from their own CIDR blocks (no IPv6, IPAM pools or Outposts)", given)
}

// unsupported is UnsupportedOperation for the parameters of action that were
// given (given maps each to whether the request set it), saying why.
func unsupported(action, why string, given map[string]bool) error {
	var set []string
	for name, ok := range given {
		if ok {
			set = append(set, name)
		}
	}
	if len(set) == 0 {
		return nil
	}
	sort.Strings(set)
	return &apiError{Code: "UnsupportedOperation", Status: http.StatusBadRequest, Message: action + ": " + strings.Join(set, ", ") + " cannot be used: " + why}
}
