package backbone

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// Method is how a backbone carries traffic between hosts; `strait host list`
// shows it.
type Method string

const (
	// MethodWireGuard is the kernel's WireGuard: a device that the kernel runs
	// and that outlives this process.
	MethodWireGuard Method = "wireguard"
	// MethodUserspace is WireGuard in this process (wireguard-go) on a TUN device.
	MethodUserspace Method = "wireguard-go"
	// MethodPlain is VXLAN over the underlay without encryption or
	// authentication, for trusted networks only.
	MethodPlain Method = "plain"
)

// Modes a backbone can be asked for.
const (
	ModeAuto      = "auto"         // encrypted: the kernel's WireGuard where it has it, else wireguard-go
	ModeUserspace = "wireguard-go" // encrypted: wireguard-go even where the kernel has WireGuard
	ModePlain     = "plain"        // MethodPlain
)

// KernelWireGuard reports whether the kernel has WireGuard (its generic
// netlink family is registered), without changing anything.
func KernelWireGuard() bool {
	_, err := netlink.GenlFamilyGet("wireguard")
	return err == nil
}

// MethodFor is the method New uses for a mode on this machine: for ModeAuto
// MethodWireGuard when the kernel has WireGuard (KernelWireGuard), else
// MethodUserspace.
func MethodFor(mode string) (Method, error) { return methodFor(mode, KernelWireGuard) }

// methodFor is MethodFor with the kernel's WireGuard detected by kernelHas,
// which is asked only in ModeAuto.
func methodFor(mode string, kernelHas func() bool) (Method, error) {
	switch mode {
	case ModeAuto, "":
		if kernelHas() {
			return MethodWireGuard, nil
		}
		return MethodUserspace, nil
	case ModeUserspace:
		return MethodUserspace, nil
	case ModePlain:
		return MethodPlain, nil
	}
	return "", fmt.Errorf("--backbone %q: want %s, %s or %s", mode, ModeAuto, ModeUserspace, ModePlain)
}
