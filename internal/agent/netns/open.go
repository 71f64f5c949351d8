package netns

import "os"

// OpenNamespace opens the namespace of id (a VPC or an instance) for calls that
// take a namespace descriptor (netlink, nftables); the caller closes it. A
// namespace that does not exist gives an error satisfying os.ErrNotExist.
func (h *Host) OpenNamespace(id string) (*os.File, error) { return os.Open(nsPath(h.Namespace(id))) }
