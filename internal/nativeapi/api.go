// Package nativeapi serves Strait's own JSON API under /strait/v1/: published
// services, their PrivateLink resources, connections and connection information —
// the provider's everyday workflow, used by the `strait` CLI and the console. It
// authenticates requests with SigV4 (package sigv4, service name "strait") like the
// AWS APIs, and calls the same control operations they do.
package nativeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"unicode/utf8"

	"strait/internal/admission"
	"strait/internal/control"
	"strait/internal/hosts"
	"strait/internal/model"
	"strait/internal/sigv4"
)

// SigningName is the SigV4 service name of the native API.
const SigningName = "strait"

// Prefix is the path every native API route starts with.
const Prefix = "/strait/v1/"

const maxBody = 1 << 20

// Config configures the API.
type Config struct {
	// Dev accepts any secret: a 12-digit access key ID is that account, any other
	// key is account 000000000000 (as in the AWS APIs).
	Dev bool
	// Hosts is the region's host registry (nil: the host routes answer
	// UnknownOperation).
	Hosts  *hosts.Registry
	Logger *slog.Logger
}

// API is the HTTP handler of the native API.
type API struct {
	ctl      *control.Control
	accounts sigv4.Accounts
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
}

// apiError is an error with its HTTP status and code, as a client sees it.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// handler runs one request for the authenticated account and returns the status
// and value of a successful response.
type handler func(ctx context.Context, acct string, r *http.Request, body []byte) (int, any, error)

// New returns the native API over ctl.
func New(ctl *control.Control, accounts sigv4.Accounts, cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &API{ctl: ctl, accounts: accounts, cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	routes := map[string]handler{
		"GET /strait/v1/services":                                        a.listServices,
		"POST /strait/v1/services":                                       a.createService,
		"GET /strait/v1/services/{name}":                                 a.getService,
		"PATCH /strait/v1/services/{name}":                               a.updateService,
		"DELETE /strait/v1/services/{name}":                              a.deleteService,
		"GET /strait/v1/services/{name}/connection-info":                 a.connectionInfo,
		"POST /strait/v1/services/{name}/privatelink":                    a.createPrivateLink,
		"GET /strait/v1/services/{name}/privatelink":                     a.getPrivateLink,
		"PATCH /strait/v1/services/{name}/privatelink":                   a.updatePrivateLink,
		"DELETE /strait/v1/services/{name}/privatelink":                  a.deletePrivateLink,
		"POST /strait/v1/services/{name}/privatelink/verify-dns":         a.verifyPrivateLinkDNS,
		"GET /strait/v1/services/{name}/privatelink/connections":         a.listConnections,
		"POST /strait/v1/services/{name}/privatelink/connections/accept": a.acceptConnections,
		"POST /strait/v1/services/{name}/privatelink/connections/reject": a.rejectConnections,
		"GET /strait/v1/hosts":                                           a.listHosts,
		"POST /strait/v1/hosts/tokens":                                   a.createJoinToken,
		"DELETE /strait/v1/hosts/{id}":                                   a.removeHost,
	}
	for pattern, h := range routes {
		a.mux.HandleFunc(pattern, a.serve(h))
	}
	a.mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Code: "UnknownOperation",
			Message: fmt.Sprintf("%s %s is not a Strait API route: see `strait --help` for the operations", r.Method, r.URL.Path)})
	})
	return a
}

// ServeHTTP answers one native API request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// serve authenticates a request, runs h and writes its JSON result or error.
func (a *API) serve(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		reqID := model.NewRequestID()
		w.Header().Set("x-amzn-RequestId", reqID)
		defer func() {
			// A bug must still answer in JSON, not drop the connection.
			if p := recover(); p != nil {
				a.log.Error("panic serving native API request", "path", r.URL.Path, "request_id", reqID, "panic", p, "stack", string(debug.Stack()))
				writeError(w, internalError(reqID))
			}
		}()
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if errors.Is(err, admission.ErrBusy) {
			writeError(w, &apiError{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: "The server is busy reading other large requests; retry the request"})
			return
		}
		if err != nil {
			writeError(w, &apiError{Status: http.StatusBadRequest, Code: "InvalidRequest", Message: "reading the request body: " + err.Error()})
			return
		}
		if len(body) > maxBody {
			writeError(w, &apiError{Status: http.StatusRequestEntityTooLarge, Code: "RequestEntityTooLarge", Message: "The request body exceeds 1 MiB"})
			return
		}
		if !utf8.Valid(body) || !utf8.ValidString(r.URL.Path) {
			// JSON decoding would replace the bytes silently; nothing is stored altered.
			writeError(w, &apiError{Status: http.StatusBadRequest, Code: "InvalidParameterValue", Message: "The request path or body is not valid UTF-8"})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		acct, err := a.authenticate(r, body)
		if err == nil {
			var status int
			var out any
			status, out, err = h(r.Context(), acct, r, body)
			if err == nil {
				writeJSON(w, status, out)
				return
			}
		}
		ae := translate(err)
		if ae.Status >= 500 {
			a.log.Error("native API request failed", "method", r.Method, "path", r.URL.Path, "request_id", reqID, "err", err)
			if ae.Code == "InternalError" {
				ae = internalError(reqID)
			}
		}
		writeError(w, ae)
	}
}

// authenticate verifies the SigV4 signature (service "strait", the server's
// region) and returns the caller's account.
func (a *API) authenticate(r *http.Request, body []byte) (string, error) {
	cred, err := sigv4.ParseCredential(r)
	if err != nil {
		return "", sigError(err)
	}
	if cred.Service != SigningName {
		return "", &apiError{Status: http.StatusUnauthorized, Code: "InvalidSignature",
			Message: fmt.Sprintf("The native API expects requests signed for service %q, not %q", SigningName, cred.Service)}
	}
	account, err := sigv4.VerifyAccount(r.Context(), r, body, cred, a.accounts, a.ctl.Region(), a.cfg.Dev)
	if err != nil {
		return "", sigError(err)
	}
	return account, nil
}

func sigError(err error) error {
	var se *sigv4.Error
	if errors.As(err, &se) {
		status := http.StatusForbidden
		msg := se.Message
		if se.Code == "AuthFailure" || se.Code == "InvalidClientTokenId" {
			status = http.StatusUnauthorized
			msg += " Check the access key (strait login, --access-key-id or AWS_ACCESS_KEY_ID)."
		}
		if se.Code == "MissingAuthenticationToken" || se.Code == "IncompleteSignature" {
			msg += " Sign requests with SigV4 for service \"strait\", or use the strait CLI."
		}
		return &apiError{Status: status, Code: se.Code, Message: msg}
	}
	return err
}

// reasonCodes is the code the native API gives each domain reason its operations
// can meet (the published-service and PrivateLink operations and what they call).
// The codes are AWS-style, as docs/native-api.md promises, so that a script
// reading the CLI's errors sees the same names as with the AWS CLI; a reason not
// listed takes the sentinel's code.
var reasonCodes = map[model.Reason]string{
	model.ReasonComponent:                "InvalidComponent",
	model.ReasonDomainTaken:              "ConflictingDomainExists",
	model.ReasonEndpointGone:             "InvalidVpcEndpoint.NotFound",
	model.ReasonEndpointNotFound:         "InvalidVpcEndpointId.NotFound",
	model.ReasonGroupsPerInterface:       "SecurityGroupsPerInterfaceLimitExceeded",
	model.ReasonLiveConnections:          "ExistingVpcEndpointConnections",
	model.ReasonMalformedEndpointID:      "InvalidVpcEndpointId.Malformed",
	model.ReasonNoPrivateLink:            "InvalidPrivateLink.NotFound",
	model.ReasonNotificationNotFound:     "InvalidConnectionNotification",
	model.ReasonParameter:                "InvalidParameter",
	model.ReasonParameterCombination:     "InvalidParameterCombination",
	model.ReasonPrincipal:                "InvalidPrincipal",
	model.ReasonPrivateLinkExists:        "InvalidPrivateLink.Duplicate",
	model.ReasonPublishedServiceExists:   "InvalidPublishedService.Duplicate",
	model.ReasonPublishedServiceNotFound: "InvalidPublishedService.NotFound",
	model.ReasonServiceName:              "InvalidServiceName",
	model.ReasonSubnet:                   "InvalidSubnet",
	model.ReasonSubnetConflict:           "InvalidSubnet.Conflict",
	model.ReasonSubnetFull:               "InsufficientFreeAddressesInSubnet",
	model.ReasonSubnetRange:              "InvalidSubnet.Range",
	model.ReasonSubnetsInSameZone:        "DuplicateSubnetsInSameZone",
	model.ReasonTarget:                   "InvalidTarget",
	model.ReasonTokenMismatch:            "IdempotentParameterMismatch",
	model.ReasonJoinToken:                "InvalidJoinToken",
	model.ReasonZone:                     "InvalidZone",
	model.ReasonZoneServed:               "ZoneAlreadyServed",
	model.ReasonHostRemoved:              "HostRemoved",
}

// statusOf maps domain sentinels to HTTP statuses and default codes.
var statusOf = []struct {
	err    error
	status int
	code   string
}{
	{model.ErrNotFound, http.StatusNotFound, "ResourceNotFound"},
	{model.ErrMissing, http.StatusBadRequest, "MissingParameter"},
	{model.ErrInvalid, http.StatusBadRequest, "InvalidParameterValue"},
	{model.ErrDuplicate, http.StatusConflict, "ResourceAlreadyExists"},
	{model.ErrInUse, http.StatusConflict, "ResourceInUse"},
	{model.ErrIncorrectState, http.StatusConflict, "IncorrectState"},
	{model.ErrConflict, http.StatusConflict, "Conflict"},
	{model.ErrUnauthorized, http.StatusForbidden, "UnauthorizedOperation"},
	{model.ErrLimit, http.StatusBadRequest, "LimitExceeded"},
	{model.ErrUnsupported, http.StatusBadRequest, "Unsupported"},
	{model.ErrUnavailable, http.StatusServiceUnavailable, "ServiceUnavailable"},
}

// translate turns an error into what the client sees; an error that is not a
// domain error is an internal failure.
func translate(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var de *model.Error
	if !errors.As(err, &de) {
		return &apiError{Status: http.StatusInternalServerError, Code: "InternalError"}
	}
	for _, s := range statusOf {
		if errors.Is(de, s.err) {
			code := s.code
			if c, ok := reasonCodes[de.Reason]; ok {
				code = c
			}
			return &apiError{Status: s.status, Code: code, Message: de.Msg}
		}
	}
	return &apiError{Status: http.StatusBadRequest, Code: "InvalidParameterValue", Message: de.Msg}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		writeError(w, &apiError{Status: http.StatusInternalServerError, Code: "InternalError", Message: "An internal error has occurred while encoding the response"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, e *apiError) {
	b, _ := json.Marshal(ErrorBody{Error: ErrorDetail{Code: e.Code, Message: e.Message}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(append(b, '\n'))
}

// decode reads a JSON request body strictly: unknown fields are errors.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &apiError{Status: http.StatusBadRequest, Code: "MissingParameter", Message: "The request needs a JSON body"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidParameterValue", Message: "The request body is not valid: " + err.Error()}
	}
	return nil
}

// internalError is what a client sees of a failure that is not its own: an opaque
// InternalError naming the request, whose log line has the cause.
func internalError(reqID string) *apiError {
	return &apiError{Status: http.StatusInternalServerError, Code: "InternalError",
		Message: "An internal error has occurred; the server log has the details under request ID " + reqID}
}
