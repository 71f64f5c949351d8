package backbone

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/hkdf"
)

// Key is a 32-byte WireGuard key: a Curve25519 private or public key, or a
// preshared key. Its text form is base64, as wg(8) shows keys.
type Key [32]byte

// GenerateKey makes a new private key.
func GenerateKey() (Key, error) {
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, err
	}
	return Key(priv.Bytes()), nil
}

// PublicKey is the public key of private key k.
func (k Key) PublicKey() (Key, error) {
	priv, err := ecdh.X25519().NewPrivateKey(k[:])
	if err != nil {
		return Key{}, err
	}
	return Key(priv.PublicKey().Bytes()), nil
}

// IsZero reports whether k is unset.
func (k Key) IsZero() bool { return k == Key{} }

// String is the base64 form of k.
func (k Key) String() string { return base64.StdEncoding.EncodeToString(k[:]) }

// hex is the form of k that wireguard-go's configuration protocol takes.
func (k Key) hex() string { return hex.EncodeToString(k[:]) }

// MarshalText is the base64 form of k (JSON carries keys as strings).
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads the base64 form of a key; "" is the zero key.
func (k *Key) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*k = Key{}
		return nil
	}
	parsed, err := ParseKey(string(b))
	if err != nil {
		return err
	}
	*k = parsed
	return nil
}

// ParseKey reads a key in base64.
func ParseKey(s string) (Key, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != len(Key{}) {
		return Key{}, fmt.Errorf("invalid key %q: want 32 bytes in base64", s)
	}
	return Key(b), nil
}

// Keys is what a host needs to accept a peer: the peer's public key and the
// preshared key of the pair (PairKey).
type Keys struct {
	Public    Key
	Preshared Key
}

// pairKeyInfo labels what PairKey derives, so the pair secret could key other
// things without giving the same bytes.
const pairKeyInfo = "strait backbone preshared key v1"

// PairKey derives the preshared key of two hosts from their pair secret with
// HKDF-SHA256 (the host IDs, sorted, in the info), so both hosts compute the
// same key whichever side asks. WireGuard derives its per-direction session
// keys from the handshake that this key and both hosts' key pairs enter.
func PairKey(pairSecret []byte, hostA, hostB string) (Key, error) {
	if len(pairSecret) < 16 {
		return Key{}, errors.New("pair secret: want at least 16 bytes")
	}
	if hostA == hostB || hostA == "" || hostB == "" {
		return Key{}, fmt.Errorf("pair key: want two different host IDs, got %q and %q", hostA, hostB)
	}
	if hostB < hostA {
		hostA, hostB = hostB, hostA
	}
	info := pairKeyInfo + "\x00" + hostA + "\x00" + hostB
	var k Key
	if _, err := io.ReadFull(hkdf.New(sha256.New, pairSecret, nil, []byte(info)), k[:]); err != nil {
		return Key{}, err
	}
	return k, nil
}
