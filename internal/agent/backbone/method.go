package backbone

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// Method is how a backbone carries traffic between hosts; `strait host list`
// shows it.
type Method string

const (
	// MethodWireGuard is the kernel's WireGuard (not implemented yet: a kernel
	// that has it is detected and reported, and MethodUserspace is used).
	MethodWireGuard Method = "wireguard"
	// MethodUserspace is WireGuard in this process (wireguard-go) on a TUN device.
	MethodUserspace Method = "wireguard-go"
	// MethodPlain is VXLAN over the underlay without encryption or
	// authentication, for trusted networks only.
	MethodPlain Method = "plain"
)

// Modes a backbone can be asked for.
const (
	ModeAuto  = "auto"  // encrypted: the best WireGuard available
	ModePlain = "plain" // MethodPlain
)

// KernelWireGuard reports whether the kernel has WireGuard (its generic
// netlink family is registered), without changing anything.
func KernelWireGuard() bool {
	_, err := netlink.GenlFamilyGet("wireguard")
	return err == nil
}

// MethodFor is the method New uses for a mode: MethodUserspace for ModeAuto
// (the kernel's WireGuard is not used yet), MethodPlain for ModePlain.
func MethodFor(mode string) (Method, error) {
	switch mode {
	case ModeAuto:
		return MethodUserspace, nil
	case ModePlain:
		return MethodPlain, nil
	}
	return "", fmt.Errorf("--backbone %q: want %s or %s", mode, ModeAuto, ModePlain)
}
