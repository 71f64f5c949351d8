package backbone

// Hooks for the tests of package backbone_test. Those tests cannot be in this
// package: they build hosts with netnstest, whose testenv links the server,
// which links this package (an import cycle).
var (
	EndpointNSName = endpointNSName
	OpenNS         = openNS
	RunIn          = runIn
	WithLinks      = withLinks
)

// Names the tests look for.
const (
	LinkName  = linkName
	VXLANPort = vxlanPort
)
