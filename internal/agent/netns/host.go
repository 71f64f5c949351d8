package netns

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ErrNeedRoot is returned by NewHost when the process cannot run the netns data plane.
var ErrNeedRoot = errors.New("the netns data plane needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and nftables; run as root or use --dataplane=none")

// Capability bits, as in linux/capability.h.
const (
	capNetAdmin = 12
	capSysAdmin = 21
)

// Host manages the namespaces of one Strait server; every name carries its tag.
//
// The methods that change the host (Ensure*, Remove*, SetAddresses,
// ChangeAddresses) are serialized; Listen, ListenUDP, Dial and Do may run
// concurrently with them and with each other.
type Host struct {
	tag string
	log *slog.Logger

	mu sync.Mutex // serializes the changes

	spares spares // unconnected sockets per namespace, for DialSocket
}

// TagFor is the tag of the server whose data directory is dataDir: 6 hex characters
// of the SHA-256 of its absolute path.
func TagFor(dataDir string) string {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = filepath.Clean(dataDir)
	}
	sum := sha256.Sum256([]byte(abs))
	return hex.EncodeToString(sum[:])[:6]
}

// NewHost checks that the process can manage network namespaces (root or
// CAP_NET_ADMIN and CAP_SYS_ADMIN, the ip program) and returns a Host whose
// namespaces are named "strait-<tag>-<id>". The error wraps ErrNeedRoot when a
// prerequisite is missing.
func NewHost(tag string, log *slog.Logger) (*Host, error) {
	if !validTag(tag) {
		return nil, fmt.Errorf("invalid data plane tag %q: want 1 to 16 lower-case letters or digits", tag)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := checkPrivileges(); err != nil {
		return nil, err
	}
	return &Host{tag: tag, log: log}, nil
}

// checkPrivileges reports, wrapping ErrNeedRoot, what keeps this process from
// managing namespaces.
func checkPrivileges() error {
	caps, err := effectiveCaps()
	if err != nil {
		return fmt.Errorf("%w (reading capabilities: %v)", ErrNeedRoot, err)
	}
	var missing []string
	if caps&(1<<capNetAdmin) == 0 {
		missing = append(missing, "CAP_NET_ADMIN")
	}
	if caps&(1<<capSysAdmin) == 0 {
		missing = append(missing, "CAP_SYS_ADMIN")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w (missing %s)", ErrNeedRoot, strings.Join(missing, " and "))
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("%w (ip not found in PATH)", ErrNeedRoot)
	}
	return nil
}

// effectiveCaps reads the effective capability set of this process.
func effectiveCaps() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no CapEff line in /proc/self/status")
}

// validTag reports whether tag can be part of namespace names: it must not contain
// the dash that separates it from the resource ID.
func validTag(tag string) bool {
	if tag == "" || len(tag) > 16 {
		return false
	}
	for _, r := range tag {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Tag is the tag every name of this host carries.
func (h *Host) Tag() string { return h.tag }

// Namespace is the name of the namespace of a VPC or instance:
// "strait-<tag>-<id>", e.g. strait-3fa2c1-vpc-0123456789abcdef0.
func (h *Host) Namespace(id string) string { return nsPrefix(h.tag) + id }

// Exists reports whether the namespace of a VPC or instance of this host exists.
func (h *Host) Exists(id string) bool { return nsExists(h.Namespace(id)) }

// nsPrefix is the common prefix of the namespaces of tag ("strait-" for all tags).
func nsPrefix(tag string) string {
	if tag == "" {
		return "strait-"
	}
	return "strait-" + tag + "-"
}

// Managed lists the resource IDs of this tag's existing namespaces, VPCs and
// instances apart, so that a restarted server can re-adopt or remove them. The
// transit namespace is neither: LinkTransit adopts it as it is.
func (h *Host) Managed() (vpcs, instances []string, err error) {
	names, err := listNamespaces(nsPrefix(h.tag))
	if err != nil {
		return nil, nil, err
	}
	for _, name := range names {
		id := strings.TrimPrefix(name, nsPrefix(h.tag))
		switch {
		case strings.HasPrefix(id, "vpc-"):
			vpcs = append(vpcs, id)
		case strings.HasPrefix(id, "i-"):
			instances = append(instances, id)
		}
	}
	return vpcs, instances, nil
}

// shortName names an interface after a resource: prefix and the last 12 hex digits
// of the ID (15 characters at most, the kernel's limit), or 12 hex digits of a hash
// of the ID when it has no such suffix.
func shortName(prefix, id string) string {
	suffix := id[strings.LastIndexByte(id, '-')+1:]
	if len(suffix) >= 12 && isHex(suffix) {
		return prefix + suffix[len(suffix)-12:]
	}
	sum := sha256.Sum256([]byte(id))
	return prefix + hex.EncodeToString(sum[:])[:12]
}

func isHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// bridgeName is the name of a subnet's bridge in its VPC namespace.
func bridgeName(subnetID string) string { return shortName("b", subnetID) }

// vethName is the name of an instance's veth end in its VPC namespace.
func vethName(instanceID string) string { return shortName("v", instanceID) }
