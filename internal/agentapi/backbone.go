package agentapi

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"strait/internal/agent/backbone"
)

// backboneKeyFile holds the host's WireGuard private key (base64, mode 0600).
const backboneKeyFile = "backbone.key"

// BackboneKey returns the host's backbone private key, kept in dir: generated
// on the first start, read on every later one. Only its public key leaves the
// host.
func BackboneKey(dir string) (backbone.Key, error) {
	path := filepath.Join(dir, backboneKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, err := backbone.ParseKey(strings.TrimSpace(string(b)))
		if err != nil {
			return backbone.Key{}, fmt.Errorf("%s: %w", path, err)
		}
		return k, nil
	case !errors.Is(err, os.ErrNotExist):
		return backbone.Key{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return backbone.Key{}, err
	}
	k, err := backbone.GenerateKey()
	if err != nil {
		return backbone.Key{}, err
	}
	if err := writeFile(dir, backboneKeyFile, []byte(k.String()+"\n"), 0o600); err != nil {
		return backbone.Key{}, err
	}
	return k, nil
}

// LocalAddress is the address this host's kernel picks to reach the server at
// serverURL (a --server value; of several, the first): the source address the server sees, and so
// the host's backbone address when none is given. Nothing is sent.
func LocalAddress(serverURL string) (netip.Addr, error) {
	all, err := ServerURLs(serverURL)
	if err != nil {
		return netip.Addr{}, err
	}
	u, err := url.Parse(all[0]) // replicas: the first one's
	if err != nil {
		return netip.Addr{}, err
	}
	c, err := net.Dial("udp", u.Host) // connect(2) on UDP only chooses the route
	if err != nil {
		return netip.Addr{}, fmt.Errorf("finding this host's address towards the server %s: %w", u.Host, err)
	}
	defer c.Close()
	a, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		return netip.Addr{}, fmt.Errorf("finding this host's address towards the server %s: local address %v", u.Host, c.LocalAddr())
	}
	return a.AddrPort().Addr().Unmap(), nil
}
