package backbone

import (
	"encoding/json"
	"strings"
	"testing"
)

// Both hosts of a pair derive the same preshared key; another pair, another
// secret or a key pair's public half never give the same bytes.
func TestPairKey(t *testing.T) {
	secret := []byte("0123456789abcdef0123")
	ab, err := PairKey(secret, "host-a", "host-b")
	if err != nil {
		t.Fatal(err)
	}
	ba, _ := PairKey(secret, "host-b", "host-a")
	ac, _ := PairKey(secret, "host-a", "host-c")
	other, _ := PairKey([]byte("another secret of the pair"), "host-a", "host-b")
	if ab != ba || ab.IsZero() {
		t.Fatalf("the two sides differ: %s, %s", ab, ba)
	}
	if ab == ac || ab == other {
		t.Fatal("different pairs or secrets gave the same key")
	}
	if _, err := PairKey(secret, "host-a", "host-a"); err == nil {
		t.Error("a pair of one host was accepted")
	}
	if _, err := PairKey([]byte("short"), "host-a", "host-b"); err == nil {
		t.Error("a short secret was accepted")
	}
	parsed, err := ParseKey(ab.String())
	if err != nil || parsed != ab {
		t.Fatalf("ParseKey(String()) = %v, %v", parsed, err)
	}
	if _, err := ParseKey("AAAA"); err == nil {
		t.Error("a short key parsed")
	}
}

// Default VNIs are stable, in range, never 0 nor the transit VNI.
func TestDefaultVNI(t *testing.T) {
	if DefaultVNI("vpc-0123456789abcdef0") != DefaultVNI("vpc-0123456789abcdef0") {
		t.Fatal("not stable")
	}
	seen := map[uint32]bool{}
	for i := range 1000 {
		v := DefaultVNI("vpc-" + string(rune('a'+i%26)) + string(rune('a'+i/26)))
		if v == 0 || v >= TransitVNI {
			t.Fatalf("VNI %d out of range", v)
		}
		seen[v] = true
	}
	if len(seen) < 990 {
		t.Fatalf("only %d distinct VNIs for 1000 VPCs", len(seen))
	}
}

// Keys travel in JSON (a host's part) as base64 strings and come back equal;
// a malformed one is refused.
func TestKeysInJSON(t *testing.T) {
	priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	in := Peer{HostID: "host-b", Keys: Keys{Public: priv, Preshared: Key{1, 2, 3}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"Public":"`+priv.String()+`"`) {
		t.Errorf("JSON %s: want the key in base64", b)
	}
	var out Peer
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Fatalf("round trip: %+v, %v; want %+v", out, err, in)
	}
	if err := json.Unmarshal([]byte(`{"Keys":{"Public":"AQID"}}`), &out); err == nil {
		t.Error("a 3-byte key accepted")
	}
}
