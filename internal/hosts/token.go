package hosts

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"regexp"
	"strings"
	"time"

	"strait/internal/model"
)

// A join token is "<id>.<secret>.<pin>": a 6-character ID (the store key), a
// 32-hex-digit secret (128 bits; only its SHA-256 is stored) and the pin of the
// region's CA (64 hex digits, see Pin), which lets the agent check the server
// before it trusts it.
const (
	tokenIDLen     = 6
	tokenSecretLen = 32
	// MinTokenTTL and MaxTokenTTL bound how long a join token lives.
	MinTokenTTL = time.Minute
	MaxTokenTTL = 7 * 24 * time.Hour
)

var tokenPattern = regexp.MustCompile(`^([a-z0-9]{6})\.([0-9a-f]{32})\.([0-9a-f]{64})$`)

// Token is a parsed join token.
type Token struct {
	ID     string
	Secret string
	Pin    string
}

// String is the token as `strait agent --token` takes it.
func (t Token) String() string { return t.ID + "." + t.Secret + "." + t.Pin }

// ParseToken reads a join token; a malformed one is a domain error that says
// what a token looks like (and never repeats the secret).
func ParseToken(s string) (Token, error) {
	m := tokenPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Token{}, model.WithReason(model.ErrInvalid, model.ReasonJoinToken,
			"The join token is malformed: it is <id>.<secret>.<ca-sha256> (6 + 32 + 64 characters) as `strait host token create` prints it")
	}
	return Token{ID: m[1], Secret: m[2], Pin: m[3]}, nil
}

// newToken draws a token for a CA with the given pin.
func newToken(pin string) Token {
	const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	id := make([]byte, tokenIDLen)
	raw := make([]byte, tokenIDLen+tokenSecretLen/2)
	if _, err := rand.Read(raw); err != nil {
		panic("hosts: reading random bytes: " + err.Error())
	}
	for i := range id {
		id[i] = idAlphabet[int(raw[i])%len(idAlphabet)] // 256 % 36 = 4: a negligible bias in an ID that is not secret
	}
	return Token{ID: string(id), Secret: hex.EncodeToString(raw[tokenIDLen:]), Pin: pin}
}

// hashSecret is the stored form of a token's secret. The secret is 128 random
// bits, so a plain SHA-256 is enough: there is nothing to guess from.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// checkToken reports why the stored token rec does not admit t at now (nil:
// it does).
func checkToken(rec model.JoinToken, t Token, now time.Time) error {
	if subtle.ConstantTimeCompare([]byte(rec.SecretHash), []byte(hashSecret(t.Secret))) != 1 {
		return unknownToken(t.ID)
	}
	if rec.UsedBy != "" {
		return model.WithReason(model.ErrInvalid, model.ReasonJoinToken,
			"The join token %s was already used (by %s at %s): a token admits one host; create another with `strait host token create`",
			t.ID, rec.UsedBy, rec.UsedAt.UTC().Format(time.RFC3339))
	}
	if !now.Before(rec.Expires) {
		return model.WithReason(model.ErrInvalid, model.ReasonJoinToken,
			"The join token %s expired at %s: create another with `strait host token create`", t.ID, rec.Expires.UTC().Format(time.RFC3339))
	}
	return nil
}

func unknownToken(id string) error {
	return model.WithReason(model.ErrInvalid, model.ReasonJoinToken,
		"The join token %s is not known to this region (wrong secret, or removed after it expired): create one with `strait host token create`", id)
}

// CheckTTL refuses a token lifetime outside [MinTokenTTL, MaxTokenTTL].
func CheckTTL(ttl time.Duration) error {
	if ttl < MinTokenTTL || ttl > MaxTokenTTL {
		return model.Invalid("A join token lives between %s and %s, not %s", MinTokenTTL, "168h", ttl)
	}
	return nil
}
