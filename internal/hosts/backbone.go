package hosts

import (
	"context"
	"crypto/rand"
	"encoding/base64"

	"strait/internal/model"
	"strait/internal/store"
)

const backboneSecretKey = model.KindBackboneSecret + "/secret"

// pairSecretBytes is the size of the backbone pair secret.
const pairSecretBytes = 32

// PairSecret returns the region's backbone pair secret, creating it on first
// use (replicas that create it at once agree: the first to commit wins). It
// is never logged and never served: hosts get only the keys derived from it
// for the pairs they are in.
func (r *Registry) PairSecret(ctx context.Context) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pairSecret != nil {
		return r.pairSecret, nil
	}
	fresh := model.BackboneSecret{Secret: make([]byte, pairSecretBytes), Created: r.cfg.Now().UTC()}
	if _, err := rand.Read(fresh.Secret); err != nil {
		return nil, err
	}
	var rec model.BackboneSecret
	err := r.st.Update(ctx, func(tx *store.Tx) error {
		ok, err := tx.Get(backboneSecretKey, &rec)
		if err != nil || ok {
			return err
		}
		rec = fresh
		return tx.Put(backboneSecretKey, rec)
	})
	if err != nil {
		return nil, err
	}
	if len(rec.Secret) < pairSecretBytes {
		return nil, model.Invalid("The stored backbone pair secret has %d bytes, want %d", len(rec.Secret), pairSecretBytes)
	}
	r.pairSecret = rec.Secret
	return rec.Secret, nil
}

// checkBackbone accepts a method a host may report with its public key: ""
// (an agent that does not join the backbone) is model.BackboneNone; the
// encrypted methods need a key, a WireGuard public key in base64.
func checkBackbone(method, key string) (string, error) {
	switch method {
	case "", model.BackboneNone:
		return model.BackboneNone, nil
	case model.BackbonePlain, model.BackboneWireGuard, model.BackboneWireGuardGo:
	default:
		return "", model.Invalid("The backbone method %q is not one of %s, %s, %s", method, model.BackboneWireGuard, model.BackboneWireGuardGo, model.BackbonePlain)
	}
	if key == "" && method != model.BackbonePlain {
		return "", model.Missingf("The backbone method %s needs the host's public key", method)
	}
	if key != "" {
		if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) != 32 {
			return "", model.Invalid("The backbone public key %q is not 32 bytes in base64", key)
		}
	}
	return method, nil
}
