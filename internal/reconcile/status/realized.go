package status

// Realized tells Settle what the data plane has made real on the host. IDs are
// resource IDs (vpce-…, i-…) or, for load balancers, ARNs.
type Realized interface {
	// Ready reports whether the resource carries traffic: an endpoint's listeners
	// are open in every one of its subnets, a load balancer's nodes are up, an
	// instance's namespace is wired into its VPC.
	Ready(id string) bool
	// Removed reports whether nothing of the resource is left on the host
	// (addresses, listeners, rules, namespaces).
	Removed(id string) bool
}

// NoDataplane is the Realized of a server without a data plane (--dataplane=none):
// every record is realized as soon as it is written, and gone once deleted.
type NoDataplane struct{}

// Ready is always true.
func (NoDataplane) Ready(string) bool { return true }

// Removed is always true.
func (NoDataplane) Removed(string) bool { return true }
