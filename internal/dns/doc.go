// Package dns is the resolver Strait runs inside each VPC, at the VPC's CIDR base
// + 2: it answers the names of that VPC's endpoints, instances and load balancers,
// and the private DNS names of services its endpoints enabled, and nothing else.
package dns
