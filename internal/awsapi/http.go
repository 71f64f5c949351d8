package awsapi

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"time"
	"unicode/utf8"

	"strait/internal/admission"
	"strait/internal/model"
	"strait/internal/sigv4"
)

const maxBody = 4 << 20

// ServeHTTP answers one Query API request: it verifies the signature, picks the
// service from the credential scope and the action from the form, runs it and writes
// the XML response or the AWS error envelope.
func (a *API) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := model.NewRequestID()
	w := &answerOnce{ResponseWriter: rw}
	defer func() {
		// A bug must still answer in the AWS envelope (the SDKs retry
		// InternalError), unless an answer has started: a second document
		// after it would only garble it.
		if p := recover(); p != nil {
			a.log.Error("panic serving request", "request_id", reqID, "panic", p, "stack", string(debug.Stack()))
			if !w.started {
				writeError(w, a.services["ec2"].model, internalError(), reqID)
			}
		}
	}()
	svc, action, err := a.serve(w, r, reqID)
	status := http.StatusOK
	code := ""
	if err != nil {
		m := a.services["ec2"].model
		if svc != nil {
			m = svc.model
		}
		ae := a.translate(m, err)
		status, code = ae.Status, ae.Code
		if status >= 500 {
			a.log.Error("request failed", "action", action, "request_id", reqID, "err", err)
		}
		writeError(w, m, ae, reqID)
	}
	a.metrics.observe(svc, action, code, time.Since(start))
}

// answerOnce is a ResponseWriter that remembers whether an answer started.
type answerOnce struct {
	http.ResponseWriter
	started bool
}

func (w *answerOnce) WriteHeader(status int) {
	w.started = true
	w.ResponseWriter.WriteHeader(status)
}

func (w *answerOnce) Write(b []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(b)
}

// serve runs the request and writes a successful response; it returns the error to
// report otherwise.
func (a *API) serve(w http.ResponseWriter, r *http.Request, reqID string) (*service, string, error) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return nil, "", &apiError{Code: "InvalidAction", Message: "Only GET and POST requests are supported", Status: http.StatusBadRequest}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if errors.Is(err, admission.ErrBusy) {
		return nil, "", &apiError{Code: "ServiceUnavailable", Message: "The server is busy reading other large requests; retry the request", Status: http.StatusServiceUnavailable}
	}
	if err != nil {
		return nil, "", &apiError{Code: "InvalidRequest", Message: "reading request body: " + err.Error(), Status: http.StatusBadRequest}
	}
	if len(body) > maxBody {
		return nil, "", &apiError{Code: "RequestEntityTooLarge", Message: "The request body exceeds 4 MiB", Status: http.StatusRequestEntityTooLarge}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, err := requestForm(r, body)
	if err != nil {
		return nil, "", err
	}
	action := form.Get("Action")
	svc, acct, cred, err := a.authenticate(r, body)
	if err != nil {
		return svc, action, err
	}
	for _, k := range sigQueryParams {
		form.Del(k)
	}
	if action == "" {
		return svc, action, &apiError{Code: "MissingAction", Message: "The request must contain the parameter Action", Status: http.StatusBadRequest}
	}
	h, ok := svc.actions[action]
	if !ok {
		return svc, action, &apiError{Code: "InvalidAction", Message: fmt.Sprintf("The action %s is not valid for this web service.", action), Status: http.StatusBadRequest}
	}
	c := &caller{Account: acct, Region: cred.Region, RequestID: reqID}
	if err := a.ensureDefaultVpc(r.Context(), svc, acct); err != nil {
		return svc, action, err
	}
	out, err := h(r.Context(), c, decodeFunc(svc.model, action, form))
	if err != nil {
		return svc, action, err
	}
	doc, err := svc.model.encodeResponse(action, reqID, out)
	if err != nil {
		return svc, action, err
	}
	writeResponse(w, r, reqID, doc)
	return svc, action, nil
}

// writeResponse writes a successful response body in one piece with its length,
// gzip-coded when it is large and the client accepts gzip.
//
// Compression is what lets aws-sdk-go-v2 read large pages reliably from a server on
// the same host. The SDK closes the request body as soon as Do returns; Go's
// transport may not have finished its request write by then (after sending the body
// it reads it once more to check for extra bytes), the closed body fails that check,
// and the transport closes the connection under the response body. The call then
// fails with "use of closed network connection" (and is retried after a back-off)
// unless the rest of the response was already read from the socket, as it is when
// the whole response fits the transport's 4 KiB read buffer: a page of 50 endpoints
// is 71 KB of XML, 3.4 KB compressed. Larger pages stay exposed (100 endpoints:
// 6 KB); the cure is in the client (an in-memory request body, which the transport
// reads whole before sending anything).
func writeResponse(w http.ResponseWriter, r *http.Request, reqID string, doc []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml;charset=UTF-8")
	h.Set("x-amzn-RequestId", reqID)
	h.Add("Vary", "Accept-Encoding")
	if len(doc) >= minGzipSize && acceptsGzip(r.Header.Values("Accept-Encoding")) {
		doc = gzipBody(doc)
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	_, _ = w.Write(doc)
}

// sigQueryParams are the query parameters of a presigned request: they carry the
// signature, not the action's parameters.
var sigQueryParams = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
	"X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Security-Token"}

// requestForm merges the URL query and a form-encoded body.
func requestForm(r *http.Request, body []byte) (url.Values, error) {
	form, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &apiError{Code: "MalformedQueryString", Message: "The query string is not valid: " + err.Error(), Status: http.StatusBadRequest}
	}
	if len(body) == 0 {
		return form, validUTF8(form)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, &apiError{Code: "InvalidParameterValue", Message: "Content-Type must be application/x-www-form-urlencoded", Status: http.StatusBadRequest}
		}
	}
	bodyForm, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, &apiError{Code: "MalformedQueryString", Message: "The request body is not a valid form: " + err.Error(), Status: http.StatusBadRequest}
	}
	for k, v := range bodyForm {
		form[k] = append(form[k], v...)
	}
	return form, validUTF8(form)
}

// validUTF8 refuses a form with a parameter name or value that is not UTF-8:
// AWS parameters are text, and a value Strait would store or echo must not be
// altered on the way.
func validUTF8(form url.Values) error {
	for k, vs := range form {
		bad := !utf8.ValidString(k)
		for _, v := range vs {
			bad = bad || !utf8.ValidString(v)
		}
		if bad {
			if len(k) > 64 {
				k = k[:64] + "..."
			}
			return &apiError{Code: "MalformedQueryString", Message: fmt.Sprintf("The parameter %q or its value is not valid UTF-8", k), Status: http.StatusBadRequest}
		}
	}
	return nil
}

// authenticate verifies the signature and returns the service named by the
// credential scope and the caller's account.
func (a *API) authenticate(r *http.Request, body []byte) (*service, string, sigv4.Credential, error) {
	cred, err := sigv4.ParseCredential(r)
	if err != nil {
		return nil, "", cred, sigError(err)
	}
	svc := a.services[cred.Service]
	if svc == nil {
		return nil, "", cred, &apiError{Code: "InvalidAction", Message: fmt.Sprintf("Strait serves the ec2 and elasticloadbalancing services; the request was signed for %q", cred.Service), Status: http.StatusBadRequest}
	}
	account, err := sigv4.VerifyAccount(r.Context(), r, body, cred, a.accounts, a.ctl.Region(), a.cfg.Dev)
	if err != nil {
		return svc, "", cred, sigError(err)
	}
	return svc, account, cred, nil
}

func sigError(err error) error {
	var se *sigv4.Error
	if errors.As(err, &se) {
		status := http.StatusForbidden
		if se.Code == "AuthFailure" || se.Code == "InvalidClientTokenId" {
			status = http.StatusUnauthorized
		}
		return &apiError{Code: se.Code, Message: se.Message, Status: status}
	}
	return err
}

// writeError writes the error envelope of the service's protocol.
func writeError(w http.ResponseWriter, m *apiModel, e *apiError, reqID string) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	msg := func() { _ = xml.EscapeText(&b, []byte(e.Message)) }
	if m.ec2() {
		b.WriteString("<Response><Errors><Error><Code>" + e.Code + "</Code><Message>")
		msg()
		b.WriteString("</Message></Error></Errors><RequestID>" + reqID + "</RequestID></Response>")
	} else {
		kind := "Sender"
		if e.Status >= 500 {
			kind = "Receiver"
		}
		b.WriteString("<ErrorResponse xmlns=\"" + m.namespace() + "\"><Error><Type>" + kind + "</Type><Code>" + e.Code + "</Code><Message>")
		msg()
		b.WriteString("</Message></Error><RequestId>" + reqID + "</RequestId></ErrorResponse>")
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("x-amzn-RequestId", reqID)
	w.WriteHeader(e.Status)
	_, _ = w.Write(b.Bytes())
}
