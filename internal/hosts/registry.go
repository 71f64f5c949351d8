// Package hosts is the region's host registry: the certificate authority that
// issues host certificates, one-time join tokens, and the hosts that joined with
// `strait agent` — their zones, backbone address and what their agents last
// reported. Everything lives in the store, so that any server replica can enrol
// a host and answer for the registry.
//
// The CA's private key is kept in the store only (like the accounts' secret
// access keys, which etcd holds too): it is never logged (model.HostCA redacts
// it) and no API serves it. Whoever can read etcd can already act as any
// account; protect etcd (the embedded one's data directory is 0700, an external
// cluster wants client TLS). The key is not encrypted with a key from a file:
// every replica would need that file, and it would protect nothing that etcd's
// readers could not do with the access keys next to it.
package hosts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"strait/internal/model"
	"strait/internal/store"
)

// DefaultHeartbeatInterval is how often agents report; a host that has not
// reported for UnreachableAfter intervals is unreachable.
const (
	DefaultHeartbeatInterval = 3 * time.Second
	UnreachableAfter         = 3
)

// Host states as `strait host list` shows them.
const (
	StateReady       = "ready"
	StateUnreachable = "unreachable"
)

const caKey = model.KindHostCA + "/ca"

// Config configures a Registry.
type Config struct {
	// Region names the CA; Zones are the zones hosts may serve.
	Region string
	Zones  []model.AvailabilityZone
	// HeartbeatInterval is how often agents report (DefaultHeartbeatInterval).
	HeartbeatInterval time.Duration
	// Now returns the current time (tests may fix it).
	Now    func() time.Time
	Logger *slog.Logger
}

// Registry runs the host registry's operations over the store.
type Registry struct {
	st  *store.Store
	cfg Config

	mu         sync.Mutex
	ca         *CA         // loaded once: the CA never changes
	pairSecret []byte      // loaded once: the backbone pair secret never changes
	server     *ServerHost // the server's own data plane (SetServer); nil: none
}

// New returns the registry over st.
func New(st *store.Store, cfg Config) *Registry {
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Registry{st: st, cfg: cfg}
}

// HeartbeatInterval is how often agents are asked to report.
func (r *Registry) HeartbeatInterval() time.Duration { return r.cfg.HeartbeatInterval }

// CA returns the region's CA, creating it on first use. Replicas that create it
// at once agree: the first to commit wins, the others read its CA.
func (r *Registry) CA(ctx context.Context) (*CA, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ca != nil {
		return r.ca, nil
	}
	now := r.cfg.Now().UTC()
	fresh, err := NewCA(r.cfg.Region, now)
	if err != nil {
		return nil, err
	}
	freshRec, err := fresh.Record(now)
	if err != nil {
		return nil, err
	}
	var rec model.HostCA
	err = r.st.Update(ctx, func(tx *store.Tx) error {
		ok, err := tx.Get(caKey, &rec)
		if err != nil || ok {
			return err
		}
		rec = freshRec
		return tx.Put(caKey, rec)
	})
	if err != nil {
		return nil, err
	}
	ca, err := CAFromRecord(rec)
	if err != nil {
		return nil, err
	}
	if rec.CertPEM == freshRec.CertPEM {
		r.cfg.Logger.Info("created the host certificate authority", "ca_sha256", ca.Pin())
	}
	r.ca = ca
	return ca, nil
}

// CreateToken issues a one-time join token that lives ttl; createdBy says who
// asked (an account ID, or "admin socket"). Tokens that expired are removed.
func (r *Registry) CreateToken(ctx context.Context, ttl time.Duration, createdBy string) (Token, model.JoinToken, error) {
	if err := CheckTTL(ttl); err != nil {
		return Token{}, model.JoinToken{}, err
	}
	ca, err := r.CA(ctx)
	if err != nil {
		return Token{}, model.JoinToken{}, err
	}
	now := r.cfg.Now().UTC()
	t := newToken(ca.Pin())
	rec := model.JoinToken{ID: t.ID, SecretHash: hashSecret(t.Secret), Created: now, Expires: now.Add(ttl), CreatedBy: createdBy}
	err = r.st.Update(ctx, func(tx *store.Tx) error {
		if tx.Exists(tokenKey(t.ID)) {
			return fmt.Errorf("hosts: token ID %s drawn twice", t.ID) // 36^6 IDs: retried by the caller, if ever
		}
		err := tx.List(model.KindJoinToken+"/", func(key string, val []byte) error {
			var old model.JoinToken
			if json.Unmarshal(val, &old) == nil && !now.Before(old.Expires) {
				tx.Delete(key)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Put(tokenKey(t.ID), rec)
	})
	if err != nil {
		return Token{}, model.JoinToken{}, err
	}
	return t, rec, nil
}

// EnrolInput is what an agent sends to join the region.
type EnrolInput struct {
	Token           string
	CSRPEM          []byte
	Zones           []string
	BackboneAddress string
	// BackboneMethod and BackboneKey say how the host joins the backbone
	// (model.BackboneWireGuardGo and its public key, base64); "" for none.
	BackboneMethod string
	BackboneKey    string
	Version        string
}

// Enrol admits a host: the token must be known, unused and unexpired (it is
// used up by this call), the zones valid and served by no other host. A
// request with a token already used by the same key (an agent whose first
// enrolment was cut off before the answer reached it) admits that host again,
// while the token has not expired and the host is in the region: its new
// certificate replaces the one it never got. It signs
// the host's certificate (CN = the new host ID) and records the host; it
// returns the host and its certificate (PEM).
func (r *Registry) Enrol(ctx context.Context, in EnrolInput) (model.Host, []byte, error) {
	t, err := ParseToken(in.Token)
	if err != nil {
		return model.Host{}, nil, err
	}
	ca, err := r.CA(ctx)
	if err != nil {
		return model.Host{}, nil, err
	}
	if t.Pin != ca.Pin() {
		return model.Host{}, nil, model.WithReason(model.ErrInvalid, model.ReasonJoinToken,
			"The join token was made for another CA (sha256 %s, this region's is %s)", t.Pin, ca.Pin())
	}
	zones, err := r.checkZones(in.Zones)
	if err != nil {
		return model.Host{}, nil, err
	}
	if err := checkBackboneAddress(in.BackboneAddress); err != nil {
		return model.Host{}, nil, err
	}
	method, err := checkBackbone(in.BackboneMethod, in.BackboneKey)
	if err != nil {
		return model.Host{}, nil, err
	}
	now := r.cfg.Now().UTC()
	keyID, err := csrKeyID(in.CSRPEM)
	if err != nil {
		return model.Host{}, nil, err
	}
	// The host ID: a new one, or the one this key got with this token before
	// (an enrolment whose answer never reached the agent).
	id := newHostID()
	var seen model.JoinToken
	if err := r.st.Get(ctx, tokenKey(t.ID), &seen); err == nil && seen.UsedBy != "" && seen.UsedKey == keyID {
		id = seen.UsedBy
	}
	cert, certPEM, err := ca.SignHost(in.CSRPEM, id, now)
	if err != nil {
		return model.Host{}, nil, err
	}
	h := model.Host{ID: id, Zones: zones, BackboneAddress: in.BackboneAddress, BackboneMethod: method, BackboneKey: in.BackboneKey,
		Version: in.Version, AgentState: "enrolled", Enrolled: now, LastReport: now,
		CertSerial: Serial(cert), CertNotAfter: cert.NotAfter.UTC(), Token: t.ID}
	again := false
	err = r.st.Update(ctx, func(tx *store.Tx) error {
		var tok model.JoinToken
		ok, err := tx.Get(tokenKey(t.ID), &tok)
		if err != nil {
			return err
		}
		if !ok {
			return unknownToken(t.ID)
		}
		again = tok.UsedBy == id && tok.UsedKey == keyID
		if again {
			// The same agent again: the token is checked as if unused, and
			// the host must still be in the region.
			unused := tok
			unused.UsedBy = ""
			if err := checkToken(unused, t, now); err != nil {
				return err
			}
			var old model.Host
			if ok, err := tx.Get(hostKey(id), &old); err != nil {
				return err
			} else if !ok {
				return removed(id)
			}
			h.Enrolled, h.TransitIP = old.Enrolled, old.TransitIP
		} else if err := checkToken(tok, t, now); err != nil {
			return err
		}
		if err := zonesFree(tx, zones, id); err != nil {
			return err
		}
		if h.TransitIP, err = txHostTransit(tx, id, h.TransitIP); err != nil {
			return err
		}
		tok.UsedBy, tok.UsedAt, tok.UsedKey = id, now, keyID
		if err := tx.Put(tokenKey(t.ID), tok); err != nil {
			return err
		}
		return tx.Put(hostKey(id), h)
	})
	if err != nil {
		return model.Host{}, nil, err
	}
	if again {
		r.cfg.Logger.Info("host enrolled again with its token and key (its first answer was lost): a new certificate replaces the one it never got",
			"host", id, "zones", zones, "token", t.ID)
	} else {
		r.cfg.Logger.Info("host enrolled", "host", id, "zones", zones, "backbone_address", in.BackboneAddress, "backbone_method", method, "version", in.Version, "token", t.ID)
	}
	return h, certPEM, nil
}

// csrKeyID is the SHA-256 (hex) of the public key of a certificate request
// (PEM); SignHost checks the request itself.
func csrKeyID(csrPEM []byte) (string, error) {
	block, _ := pem.Decode(csrPEM)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return "", model.Invalid("The certificate request is not a PEM CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return "", model.Invalid("The certificate request is not valid: %v", err)
	}
	sum := sha256.Sum256(csr.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:]), nil
}

// Authenticate finds the host a verified client certificate belongs to: the
// host must be in the registry and the certificate its newest one, or the one
// it renewed that with (model.Host.PrevCertSerial).
func (r *Registry) Authenticate(ctx context.Context, cert *x509.Certificate) (model.Host, error) {
	id := cert.Subject.CommonName
	var h model.Host
	if err := r.st.Get(ctx, hostKey(id), &h); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return model.Host{}, removed(id)
		}
		return model.Host{}, err
	}
	if serial := Serial(cert); serial != h.CertSerial && (h.PrevCertSerial == "" || serial != h.PrevCertSerial) {
		return model.Host{}, removed(id)
	}
	return h, nil
}

// Renew issues host id a new certificate for a certificate request (PEM); the
// host authenticated the call with presented, one of its accepted
// certificates (Authenticate). The new certificate becomes the host's newest
// and presented stays accepted beside it, so neither calls still in flight
// nor an agent whose answer was lost (it renews again with presented) is
// locked out; any older certificate is no longer accepted.
func (r *Registry) Renew(ctx context.Context, id string, presented *x509.Certificate, csrPEM []byte) (model.Host, []byte, error) {
	keyID, err := csrKeyID(csrPEM)
	if err != nil {
		return model.Host{}, nil, err
	}
	if sum := sha256.Sum256(presented.RawSubjectPublicKeyInfo); hex.EncodeToString(sum[:]) != keyID {
		return model.Host{}, nil, model.Invalid("A renewal is for the host's own key: the certificate request's key is not the one of the certificate the host called with")
	}
	ca, err := r.CA(ctx)
	if err != nil {
		return model.Host{}, nil, err
	}
	cert, certPEM, err := ca.SignHost(csrPEM, id, r.cfg.Now().UTC())
	if err != nil {
		return model.Host{}, nil, err
	}
	var h model.Host
	err = r.st.Update(ctx, func(tx *store.Tx) error {
		ok, err := tx.Get(hostKey(id), &h)
		if err != nil {
			return err
		}
		serial := Serial(presented)
		if !ok || (serial != h.CertSerial && serial != h.PrevCertSerial) {
			return removed(id)
		}
		h.PrevCertSerial, h.CertSerial, h.CertNotAfter = serial, Serial(cert), cert.NotAfter.UTC()
		return tx.Put(hostKey(id), h)
	})
	if err != nil {
		return model.Host{}, nil, err
	}
	r.cfg.Logger.Info("host certificate renewed", "host", id, "serial", h.CertSerial, "not_after", h.CertNotAfter, "renewed_from", h.PrevCertSerial)
	return h, certPEM, nil
}

// Report is what an agent reports with each heartbeat.
type Report struct {
	Zones           []string
	BackboneAddress string
	BackboneMethod  string // as EnrolInput's
	BackboneKey     string
	Version         string
	State           string
}

// Report records a heartbeat of host id (authenticated by the caller). Changed
// zones are checked as at enrolment.
func (r *Registry) Report(ctx context.Context, id string, rep Report) (model.Host, error) {
	zones, err := r.checkZones(rep.Zones)
	if err != nil {
		return model.Host{}, err
	}
	if err := checkBackboneAddress(rep.BackboneAddress); err != nil {
		return model.Host{}, err
	}
	method, err := checkBackbone(rep.BackboneMethod, rep.BackboneKey)
	if err != nil {
		return model.Host{}, err
	}
	var h model.Host
	err = r.st.Update(ctx, func(tx *store.Tx) error {
		ok, err := tx.Get(hostKey(id), &h)
		if err != nil {
			return err
		}
		if !ok {
			return removed(id)
		}
		if !slices.Equal(zones, h.Zones) {
			if err := zonesFree(tx, zones, id); err != nil {
				return err
			}
			h.Zones = zones
		}
		h.BackboneAddress, h.Version, h.AgentState = rep.BackboneAddress, rep.Version, rep.State
		h.BackboneMethod, h.BackboneKey = method, rep.BackboneKey
		h.LastReport = r.cfg.Now().UTC()
		if h.TransitIP == "" { // a host enrolled before hosts had transit addresses
			if h.TransitIP, err = txHostTransit(tx, id, ""); err != nil {
				return err
			}
		}
		return tx.Put(hostKey(id), h)
	})
	return h, err
}

// Status is a host with its state: ready, or unreachable since
// UnreachableSince (UnreachableAfter heartbeat intervals after its last report).
type Status struct {
	model.Host
	State            string
	UnreachableSince time.Time
	// Server marks the server's own data plane (HostsWithServer).
	Server bool
}

// Hosts lists the hosts with their states, in ID order.
func (r *Registry) Hosts(ctx context.Context) ([]Status, error) {
	now := r.cfg.Now()
	var out []Status
	err := r.st.List(ctx, model.KindHost+"/", func(_ string, val []byte) error {
		var h model.Host
		if err := json.Unmarshal(val, &h); err != nil {
			return err
		}
		s := Status{Host: h, State: StateReady}
		if deadline := h.LastReport.Add(UnreachableAfter * r.cfg.HeartbeatInterval); !now.Before(deadline) {
			s.State, s.UnreachableSince = StateUnreachable, deadline
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// Remove removes a host from the region: its certificate is no longer
// accepted and its zones are free for another host.
func (r *Registry) Remove(ctx context.Context, id string) error {
	r.mu.Lock()
	srv := r.server
	r.mu.Unlock()
	if srv != nil && id == srv.ID {
		return model.InvalidKind(model.KindHost, id, "%s is the server's own data plane: it serves the zones no other host serves and cannot be removed", id)
	}
	if !validHostID(id) {
		return model.InvalidKind(model.KindHost, id, "A host ID is host- and 16 hex digits (see `strait host list`), not %q", id)
	}
	err := r.st.Update(ctx, func(tx *store.Tx) error {
		if !tx.Exists(hostKey(id)) {
			return &model.Error{Err: model.ErrNotFound, Kind: model.KindHost, ID: id, Msg: fmt.Sprintf("The host %s is not in this region (see `strait host list`)", id)}
		}
		tx.Delete(hostKey(id))
		return nil
	})
	if err == nil {
		r.cfg.Logger.Info("host removed", "host", id)
	}
	return err
}

// checkZones returns the zones' names, deduplicated and sorted; each must be a
// zone of the region (by name or zone ID).
func (r *Registry) checkZones(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, model.Missingf("A host serves at least one availability zone (--zones %s)", r.zoneNames()[0])
	}
	var out []string
	for _, z := range in {
		i := slices.IndexFunc(r.cfg.Zones, func(az model.AvailabilityZone) bool { return az.Name == z || az.ZoneID == z })
		if i < 0 {
			return nil, model.WithReason(model.ErrInvalid, model.ReasonZone,
				"%q is not an availability zone of %s: its zones are %s", z, r.cfg.Region, strings.Join(r.zoneNames(), ", "))
		}
		out = append(out, r.cfg.Zones[i].Name)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (r *Registry) zoneNames() []string {
	var names []string
	for _, z := range r.cfg.Zones {
		names = append(names, z.Name)
	}
	return names
}

// zonesFree fails when a host other than self serves one of zones.
func zonesFree(tx *store.Tx, zones []string, self string) error {
	return tx.List(model.KindHost+"/", func(_ string, val []byte) error {
		var other model.Host
		if err := json.Unmarshal(val, &other); err != nil {
			return err
		}
		if other.ID == self {
			return nil
		}
		for _, z := range zones {
			if slices.Contains(other.Zones, z) {
				return model.WithReason(model.ErrConflict, model.ReasonZoneServed,
					"The zone %s is already served by host %s: a zone is served by one host (remove that host with `strait host remove %s` first)", z, other.ID, other.ID)
			}
		}
		return nil
	})
}

// checkBackboneAddress accepts an IP address.
func checkBackboneAddress(a string) error {
	if a == "" {
		return model.Missingf("A host needs a backbone address (--backbone-address IP)")
	}
	if _, err := netip.ParseAddr(a); err != nil {
		return model.Invalid("The backbone address %q is not an IP address", a)
	}
	return nil
}

func removed(id string) error {
	return model.WithReason(model.ErrUnauthorized, model.ReasonHostRemoved,
		"The host %s is not in this region (it was removed): enrol it again with a new join token (`strait host token create`) after deleting the agent's data directory", id)
}

func newHostID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic("hosts: reading random bytes: " + err.Error())
	}
	return model.PrefixHost + "-" + hex.EncodeToString(b)
}

func validHostID(id string) bool {
	hexPart, ok := strings.CutPrefix(id, model.PrefixHost+"-")
	if !ok || len(hexPart) != 16 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil && strings.ToLower(hexPart) == hexPart
}

func hostKey(id string) string  { return model.KindHost + "/" + id }
func tokenKey(id string) string { return model.KindJoinToken + "/" + id }
