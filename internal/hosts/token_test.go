package hosts

import (
	"errors"
	"strings"
	"testing"
	"time"

	"strait/internal/model"
)

func TestTokenFormatRoundTrip(t *testing.T) {
	pin := strings.Repeat("ab", 32)
	seen := map[string]bool{}
	for range 100 {
		tok := newToken(pin)
		back, err := ParseToken(tok.String())
		if err != nil {
			t.Fatalf("%s: %v", tok, err)
		}
		if back != tok {
			t.Fatalf("parsed %+v, want %+v", back, tok)
		}
		if seen[tok.Secret] {
			t.Fatalf("secret %s drawn twice", tok.Secret)
		}
		seen[tok.Secret] = true
	}
}

func TestParseTokenRefusesMalformed(t *testing.T) {
	good := newToken(strings.Repeat("0f", 32)).String()
	for _, s := range []string{
		"", "abc", good[:len(good)-1], good + "0", strings.ToUpper(good),
		strings.Replace(good, ".", ":", 1), "abcdef." + strings.Repeat("g", 32) + "." + strings.Repeat("0", 64),
	} {
		_, err := ParseToken(s)
		if !errors.Is(err, model.ErrInvalid) {
			t.Errorf("%q: got %v, want invalid", s, err)
			continue
		}
		var de *model.Error
		if errors.As(err, &de) && de.Reason != model.ReasonJoinToken {
			t.Errorf("%q: reason %q", s, de.Reason)
		}
		if len(s) > 40 && strings.Contains(err.Error(), s[7:39]) {
			t.Errorf("the error repeats the secret: %v", err)
		}
	}
}

// checkToken admits the right secret before expiry, once; it says why it
// refuses anything else.
func TestCheckToken(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tok := newToken(strings.Repeat("ab", 32))
	rec := model.JoinToken{ID: tok.ID, SecretHash: hashSecret(tok.Secret), Created: now, Expires: now.Add(time.Hour)}
	if err := checkToken(rec, tok, now.Add(59*time.Minute)); err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
	wrong := tok
	wrong.Secret = strings.Repeat("0", 32)
	used := rec
	used.UsedBy, used.UsedAt = "host-0123456789abcdef", now
	for name, c := range map[string]struct {
		rec  model.JoinToken
		tok  Token
		at   time.Time
		want string
	}{
		"wrong secret": {rec, wrong, now, "not known"},
		"expired":      {rec, tok, now.Add(time.Hour), "expired"},
		"used":         {used, tok, now, "already used (by host-0123456789abcdef"},
	} {
		err := checkToken(c.rec, c.tok, c.at)
		if !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %q", name, err, c.want)
		}
	}
	if strings.Contains(rec.SecretHash, tok.Secret) {
		t.Error("the stored hash contains the secret")
	}
}

func TestCheckTTL(t *testing.T) {
	for ttl, ok := range map[time.Duration]bool{time.Hour: true, time.Minute: true, 168 * time.Hour: true,
		0: false, 59 * time.Second: false, 169 * time.Hour: false, -time.Hour: false} {
		if err := CheckTTL(ttl); (err == nil) != ok {
			t.Errorf("ttl %s: got %v", ttl, err)
		}
	}
}
