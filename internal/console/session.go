package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strait/internal/sigv4"
	"strings"
	"sync"
	"time"
)

// Cookie names: the session, and the token that ties the sign-in form to the
// browser that loaded it (so that another site cannot sign a browser in).
const (
	sessionCookie = "strait_console"
	signInCookie  = "strait_console_signin"
)

// session is one signed-in browser. Account comes from the verified access key
// and is the only account its requests act for.
type session struct {
	id      string
	Account string
	KeyID   string
	CSRF    string
	expires time.Time
	flash   string
}

// sessions holds the signed-in browsers in memory (a restarted server signs
// everyone out).
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	ttl time.Duration
}

func newSessions(ttl time.Duration) *sessions {
	return &sessions{m: map[string]*session{}, ttl: ttl}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (ss *sessions) create(account, keyID string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := time.Now()
	for id, s := range ss.m {
		if now.After(s.expires) {
			delete(ss.m, id)
		}
	}
	s := &session{id: randomToken(), Account: account, KeyID: keyID, CSRF: randomToken(), expires: now.Add(ss.ttl)}
	ss.m[s.id] = s
	return s
}

func (ss *sessions) get(id string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	if s == nil {
		return nil
	}
	if time.Now().After(s.expires) {
		delete(ss.m, id)
		return nil
	}
	return s
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

// takeFlash returns and clears the session's one-time message.
func (ss *sessions) takeFlash(s *session) string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	f := s.flash
	s.flash = ""
	return f
}

func (ss *sessions) setFlash(s *session, msg string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s.flash = msg
}

// current is the request's session, or nil.
func (c *Console) current(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	return c.sessions.get(ck.Value)
}

func (c *Console) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: c.cfg.Prefix, MaxAge: maxAge, HttpOnly: true, SameSite: http.SameSiteStrictMode}
}

// pageHandler serves a page for a signed-in session.
type pageHandler func(w http.ResponseWriter, r *http.Request, s *session)

// page requires a session: without one the browser goes to the sign-in page and
// comes back after.
func (c *Console) page(h pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.current(r)
		if s == nil {
			http.Redirect(w, r, c.path("signin")+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, s)
	}
}

// action requires a session and the session's CSRF token in the form; anything
// else is refused before the handler runs.
func (c *Console) action(h pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		s := c.current(r)
		if s == nil {
			http.Error(w, "Sign in first: your console session is missing or has expired.", http.StatusUnauthorized)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, "The form could not be read: "+err.Error(), http.StatusBadRequest)
			return
		}
		if !sameToken(r.PostForm.Get("csrf"), s.CSRF) {
			http.Error(w, "This form is out of date or did not come from the console (its CSRF token is missing or wrong): reload the page and try again.", http.StatusForbidden)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, s)
	}
}

func sameToken(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

type signInView struct {
	Token string
	Next  string
	KeyID string
	Dev   bool
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	if c.current(r) != nil {
		http.Redirect(w, r, c.safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.renderSignIn(w, r, http.StatusOK, r.URL.Query().Get("next"), "", nil)
}

func (c *Console) renderSignIn(w http.ResponseWriter, r *http.Request, status int, next, keyID string, errs formErrors) {
	token := randomToken()
	http.SetCookie(w, c.cookie(signInCookie, token, 600))
	w.Header().Set("Cache-Control", "no-store")
	c.render(w, r, status, "signin", nil, view{Title: "Sign in", Errors: errs, Data: signInView{Token: token, Next: next, KeyID: keyID, Dev: c.cfg.Dev}})
}

func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read: "+err.Error(), http.StatusBadRequest)
		return
	}
	next := r.PostForm.Get("next")
	keyID := strings.TrimSpace(r.PostForm.Get("access_key_id"))
	secret := r.PostForm.Get("secret_access_key")
	ck, err := r.Cookie(signInCookie)
	if err != nil || !sameToken(r.PostForm.Get("csrf"), ck.Value) {
		c.renderSignIn(w, r, http.StatusForbidden, next, keyID, formErrors{"": "The sign-in form expired or did not come from this console: sign in again."})
		return
	}
	errs := formErrors{}
	if keyID == "" {
		errs["access_key_id"] = "Enter your access key ID (from `strait account create`, or in --dev a 12-digit account ID)."
	}
	if secret == "" && !c.cfg.Dev {
		errs["secret_access_key"] = "Enter the secret access key that came with the access key ID."
	}
	if len(errs) > 0 {
		c.renderSignIn(w, r, http.StatusBadRequest, next, keyID, errs)
		return
	}
	acct, err := sigv4.KeyAccount(r.Context(), c.accounts, keyID, secret, c.cfg.Dev)
	if errors.Is(err, sigv4.ErrBadKey) {
		c.renderSignIn(w, r, http.StatusUnauthorized, next, keyID, formErrors{"secret_access_key": "The access key ID or the secret access key is wrong: check both and try again."})
		return
	}
	if err != nil {
		c.log.Error("console sign-in failed", "err", err)
		c.renderSignIn(w, r, http.StatusInternalServerError, next, keyID, formErrors{"": "The server could not check the key right now: try again in a moment."})
		return
	}
	s := c.sessions.create(acct, keyID)
	http.SetCookie(w, c.cookie(signInCookie, "", -1))
	http.SetCookie(w, c.cookie(sessionCookie, s.id, int(c.cfg.SessionTTL.Seconds())))
	c.log.Info("console sign-in", "account", acct, "access_key_id", keyID)
	http.Redirect(w, r, c.safeNext(next), http.StatusSeeOther)
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.remove(s.id)
	http.SetCookie(w, c.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, c.path("signin"), http.StatusSeeOther)
}

// safeNext is where to go after signing in: a console path, never another site.
func (c *Console) safeNext(next string) string {
	if !strings.HasPrefix(next, c.cfg.Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return c.cfg.Prefix
	}
	return next
}
