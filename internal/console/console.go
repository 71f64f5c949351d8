// Package console is Strait's web console: server-rendered pages over the same
// control operations as the AWS and native APIs, for providers (published
// services, their PrivateLink resources, connections, connection information,
// raw endpoint services and load balancers) and consumers (endpoints and the
// create-endpoint wizard, VPCs, subnets, security groups, instances).
//
// A user signs in with an access key ID and secret; every page and action runs
// for the session's account only (never an account named by the request), every
// form carries the session's CSRF token, and the basic forms work without
// JavaScript. A small script, when present, refreshes the parts of a page marked
// data-live once a second and adds copy buttons.
package console

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"strait/internal/control"
	"strait/internal/sigv4"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// DefaultPrefix is where `strait server` serves the console.
const DefaultPrefix = "/console/"

// Config configures the console.
type Config struct {
	// Prefix is the path the console is served under; it starts and ends with "/".
	Prefix string
	// Dev accepts any secret at sign-in, as the APIs do in dev mode.
	Dev bool
	// SessionTTL is how long a sign-in lasts (default 8 hours).
	SessionTTL time.Duration
	Logger     *slog.Logger
}

// Console is the HTTP handler of the web console.
type Console struct {
	ctl      *control.Control
	accounts sigv4.Accounts
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	patterns []string
	pages    map[string]*template.Template
	sessions *sessions
}

// New returns the console over ctl; accounts checks sign-in keys.
func New(ctl *control.Control, accounts sigv4.Accounts, cfg Config) (*Console, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !strings.HasPrefix(cfg.Prefix, "/") {
		cfg.Prefix = "/" + cfg.Prefix
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Console{ctl: ctl, accounts: accounts, cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), sessions: newSessions(cfg.SessionTTL)}
	pages, err := parsePages(c.funcs())
	if err != nil {
		return nil, err
	}
	c.pages = pages
	c.routes()
	return c, nil
}

// Prefix is the path the console is served under.
func (c *Console) Prefix() string { return c.cfg.Prefix }

// ServeHTTP answers one console request.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

// routes registers every page (GET) and action (POST). Actions go through
// c.action, which requires a session and its CSRF token.
func (c *Console) routes() {
	p := c.cfg.Prefix
	handle := func(pattern string, h http.HandlerFunc) {
		c.patterns = append(c.patterns, pattern)
		c.mux.HandleFunc(pattern, h)
	}
	static, _ := fs.Sub(staticFS, "static")
	c.mux.Handle("GET "+p+"static/", http.StripPrefix(p+"static/", cacheStatic(http.FileServerFS(static))))
	handle("GET "+p+"signin", c.signInPage)
	handle("POST "+p+"signin", c.signIn)
	handle("POST "+p+"signout", c.action(c.signOut))
	handle("GET "+p+"{$}", c.page(c.home))

	// Provider: published services and their PrivateLink resources.
	handle("GET "+p+"services", c.page(c.servicesPage))
	handle("GET "+p+"services/new", c.page(c.newServicePage))
	handle("POST "+p+"services", c.action(c.createService))
	handle("GET "+p+"services/{name}", c.page(c.servicePage))
	handle("POST "+p+"services/{name}/components", c.action(c.updateComponent))
	handle("POST "+p+"services/{name}/components/add", c.action(c.addComponent))
	handle("POST "+p+"services/{name}/components/remove", c.action(c.removeComponent))
	handle("POST "+p+"services/{name}/access", c.action(c.updateAccess))
	handle("GET "+p+"services/{name}/delete", c.page(c.deleteServicePage))
	handle("POST "+p+"services/{name}/delete", c.action(c.deleteService))
	handle("GET "+p+"services/{name}/privatelink", c.page(c.privateLinkPage))
	handle("POST "+p+"services/{name}/privatelink", c.action(c.createPrivateLink))
	handle("GET "+p+"services/{name}/privatelink/principals", c.page(c.principalsPage))
	handle("POST "+p+"services/{name}/privatelink/principals", c.action(c.updatePrincipals))
	handle("POST "+p+"services/{name}/privatelink/dns", c.action(c.updatePrivateDNS))
	handle("POST "+p+"services/{name}/privatelink/verify", c.action(c.verifyDNS))
	handle("GET "+p+"services/{name}/privatelink/delete", c.page(c.deletePrivateLinkPage))
	handle("POST "+p+"services/{name}/privatelink/delete", c.action(c.deletePrivateLink))
	handle("GET "+p+"services/{name}/connections", c.page(c.connectionsPage))
	handle("POST "+p+"services/{name}/connections/accept", c.action(c.acceptConnections))
	handle("POST "+p+"services/{name}/connections/reject", c.action(c.rejectConnections))

	// Provider: what the AWS APIs made.
	handle("GET "+p+"endpoint-services", c.page(c.endpointServicesPage))
	handle("POST "+p+"endpoint-services/{id}/accept", c.action(c.acceptRaw))
	handle("POST "+p+"endpoint-services/{id}/reject", c.action(c.rejectRaw))
	handle("GET "+p+"load-balancers", c.page(c.loadBalancersPage))

	// Consumer.
	handle("GET "+p+"endpoints", c.page(c.endpointsPage))
	handle("GET "+p+"endpoints/new", c.page(c.newEndpointPage))
	handle("POST "+p+"endpoints", c.action(c.createEndpoint))
	handle("GET "+p+"endpoints/{id}/private-dns", c.page(c.privateDNSPage))
	handle("POST "+p+"endpoints/{id}/private-dns", c.action(c.modifyPrivateDNS))
	handle("GET "+p+"endpoints/{id}/delete", c.page(c.deleteEndpointPage))
	handle("POST "+p+"endpoints/{id}/delete", c.action(c.deleteEndpoint))
	handle("GET "+p+"vpcs", c.page(listPage(c, "vpcs", "VPCs", "vpcs", c.ctl.Vpcs)))
	handle("GET "+p+"subnets", c.page(listPage(c, "subnets", "Subnets", "subnets", c.ctl.Subnets)))
	handle("GET "+p+"security-groups", c.page(listPage(c, "security_groups", "Security groups", "security-groups", c.ctl.SecurityGroups)))
	handle("GET "+p+"instances", c.page(listPage(c, "instances", "Instances", "instances", c.liveInstances)))

	c.mux.HandleFunc(p, c.page(func(w http.ResponseWriter, r *http.Request, s *session) {
		c.notFound(w, r, s, "There is no console page at "+r.URL.Path+".")
	}))
}

// Routes are the patterns of every page and action (for tests that check each
// one needs a session).
func (c *Console) Routes() []string { return append([]string(nil), c.patterns...) }

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A name no file can have (not UTF-8, for one) is not found; the file
		// server would answer 500 for it.
		if name := strings.TrimPrefix(r.URL.Path, "/"); name != "" && !fs.ValidPath(name) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// path is a console path: the prefix and the rest.
func (c *Console) path(rest string) string { return c.cfg.Prefix + strings.TrimPrefix(rest, "/") }
