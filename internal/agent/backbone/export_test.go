package backbone

import "golang.zx2c4.com/wireguard/wgctrl/wgtypes"

// Hooks for the tests of package backbone_test. Those tests cannot be in this
// package: they build hosts with netnstest, whose testenv links the server,
// which links this package (an import cycle).
var (
	DeviceName         = deviceName
	EndpointNSName     = endpointNSName
	EnsureEndpointNS   = ensureEndpointNS
	EnsureKernelDevice = ensureKernelDevice
	RemoveEndpointNS   = removeEndpointNS
	OpenNS             = openNS
	RunIn              = runIn
	UAPIPath           = uapiPath
	WithLinks          = withLinks
)

// Names the tests look for.
const (
	LinkName  = linkName
	VXLANPort = vxlanPort
)

// PeerChanges is how many peers SetPeers would configure on a device with
// have to make its peers want.
func PeerChanges(have []wgtypes.Peer, want []Peer, port uint16) int {
	return len(peerChanges(have, want, port).Peers)
}
