package awsapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Signature Version 4 constants.
const (
	sigAlgorithm       = "AWS4-HMAC-SHA256"
	sigTerminator      = "aws4_request"
	sigAmzDateFormat   = "20060102T150405Z"
	sigUnsignedPayload = "UNSIGNED-PAYLOAD"
	sigMaxSkew         = 15 * time.Minute
	sigMaxExpires      = 7 * 24 * 60 * 60 // seconds, as in AWS
	sigMismatchMessage = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	sigMalformedCredential = "Authorization header is malformed; the Credential is mal-formed; " +
		"expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."
)

// Credential is what the verifier learns from a request: the access key ID
// and the credential scope it was signed for.
type Credential struct {
	AccessKeyID string
	Date        string // yyyymmdd from the scope
	Region      string
	Service     string // "ec2", "elasticloadbalancing", ...
}

// SecretLookup returns the secret for an access key ID, or ok=false if unknown.
type SecretLookup func(accessKeyID string) (secret string, ok bool)

// SigError is an authentication failure, carrying the AWS error code and
// message to return to the client.
type SigError struct{ Code, Message string }

// Error returns "Code: Message".
func (e *SigError) Error() string { return e.Code + ": " + e.Message }

func sigErrorf(code, format string, args ...any) *SigError {
	return &SigError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// sigRequest is the authentication information carried by a request.
type sigRequest struct {
	cred          Credential
	signedHeaders []string
	signature     string
	amzDate       string    // ISO 8601 basic format, as used in the string to sign
	date          time.Time // amzDate parsed
	presigned     bool
	expires       int // X-Amz-Expires in seconds; 0 if absent
}

// ParseCredential extracts the credential scope from the Authorization header
// (AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request,
// SignedHeaders=..., Signature=...) or from presigned query parameters
// (X-Amz-Credential etc.). It does not verify anything. Errors are *SigError.
func ParseCredential(r *http.Request) (Credential, error) {
	s, err := parseSigRequest(r)
	if err != nil {
		return Credential{}, err
	}
	return s.cred, nil
}

// VerifySigV4 verifies the Signature Version 4 signature of r. body is the
// full request body, already read by the caller. lookup gives the secret for
// the access key. now is used to check that the X-Amz-Date (or Date) of the
// request is within 15 minutes, and that a presigned request has not expired.
// If skipSignature is true (dev mode), it only parses and returns the
// credential, accepting any secret and unknown keys.
//
// Region and service are not checked; the caller decides which scopes it
// accepts. When the request parses but fails verification, the returned
// Credential is the one claimed by the request, and the error is a *SigError.
func VerifySigV4(r *http.Request, body []byte, lookup SecretLookup, now time.Time, skipSignature bool) (Credential, error) {
	s, err := parseSigRequest(r)
	if err != nil {
		return Credential{}, err
	}
	if skipSignature {
		return s.cred, nil
	}
	var secret string
	ok := false
	if lookup != nil {
		secret, ok = lookup(s.cred.AccessKeyID)
	}
	if !ok {
		return s.cred, &SigError{"InvalidClientTokenId", "The security token included in the request is invalid."}
	}
	if err := s.checkTime(now); err != nil {
		return s.cred, err
	}
	if s.cred.Date != s.amzDate[:8] {
		return s.cred, sigErrorf("SignatureDoesNotMatch",
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			s.cred.Date, s.amzDate[:8], s.amzDate)
	}
	query, err := sigCanonicalQuery(r.URL.RawQuery, s.presigned)
	if err != nil {
		return s.cred, err
	}
	bodyHash := sigHash(body)
	payloadHashes := []string{bodyHash}
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != sigUnsignedPayload {
		if !strings.EqualFold(h, bodyHash) {
			return s.cred, &SigError{"SignatureDoesNotMatch", "The provided 'x-amz-content-sha256' header does not match what was computed."}
		}
		payloadHashes[0] = h
	}
	if len(body) == 0 {
		// Presigned URLs are usually signed with UNSIGNED-PAYLOAD. It is
		// accepted only when there is no body, so that nothing goes unsigned.
		payloadHashes = append(payloadHashes, sigUnsignedPayload)
	}

	key := []byte("AWS4" + secret)
	for _, part := range []string{s.cred.Date, s.cred.Region, s.cred.Service, sigTerminator} {
		key = sigHMAC(key, part)
	}
	scope := strings.Join([]string{s.cred.Date, s.cred.Region, s.cred.Service, sigTerminator}, "/")
	prefix := r.Method + "\n" + sigCanonicalURI(r.URL.EscapedPath()) + "\n" + query + "\n" +
		sigCanonicalHeaders(r, s.signedHeaders) + "\n" + strings.Join(s.signedHeaders, ";") + "\n"
	for _, payloadHash := range payloadHashes {
		stringToSign := sigAlgorithm + "\n" + s.amzDate + "\n" + scope + "\n" + sigHash([]byte(prefix+payloadHash))
		signature := hex.EncodeToString(sigHMAC(key, stringToSign))
		if hmac.Equal([]byte(signature), []byte(s.signature)) {
			return s.cred, nil
		}
	}
	return s.cred, &SigError{"SignatureDoesNotMatch", sigMismatchMessage}
}

// parseSigRequest reads the authentication information from the
// Authorization header or from presigned query parameters.
func parseSigRequest(r *http.Request) (sigRequest, error) {
	auth := r.Header.Get("Authorization")
	q := r.URL.Query()
	presigned := q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Credential") || q.Has("X-Amz-Signature")
	switch {
	case auth != "" && presigned:
		return sigRequest{}, &SigError{"IncompleteSignature", "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified."}
	case auth != "":
		return parseSigHeader(r, auth)
	case presigned:
		return parseSigQuery(q)
	}
	return sigRequest{}, &SigError{"MissingAuthenticationToken", "Request is missing Authentication Token"}
}

func parseSigHeader(r *http.Request, auth string) (sigRequest, error) {
	algorithm, rest, _ := strings.Cut(strings.TrimSpace(auth), " ")
	if algorithm != sigAlgorithm {
		return sigRequest{}, sigErrorf("IncompleteSignature", "Unsupported AWS 'algorithm': '%s'.", algorithm)
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if _, dup := fields[k]; !ok || dup {
			return sigRequest{}, sigErrorf("IncompleteSignature", "Authorization header requires each component to be of the form key=value, once: '%s'.", strings.TrimSpace(part))
		}
		fields[k] = v
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if fields[k] == "" {
			return sigRequest{}, sigErrorf("IncompleteSignature", "Authorization header requires '%s' parameter.", k)
		}
	}
	s := sigRequest{signature: fields["Signature"]}
	var err error
	if s.cred, err = parseSigScope(fields["Credential"]); err != nil {
		return sigRequest{}, err
	}
	if s.signedHeaders, err = parseSigSignedHeaders(fields["SignedHeaders"]); err != nil {
		return sigRequest{}, err
	}
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		s.amzDate = v
		s.date, err = time.Parse(sigAmzDateFormat, v)
	} else if v := r.Header.Get("Date"); v != "" {
		s.date, err = http.ParseTime(v)
		s.amzDate = s.date.UTC().Format(sigAmzDateFormat)
	} else {
		return sigRequest{}, &SigError{"IncompleteSignature", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}
	}
	if err != nil {
		return sigRequest{}, &SigError{"IncompleteSignature", "The request date is not in a valid format."}
	}
	return s, nil
}

func parseSigQuery(q url.Values) (sigRequest, error) {
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders"} {
		if q.Get(k) == "" {
			return sigRequest{}, sigErrorf("IncompleteSignature", "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date' and 'X-Amz-SignedHeaders'; '%s' is missing.", k)
		}
	}
	if a := q.Get("X-Amz-Algorithm"); a != sigAlgorithm {
		return sigRequest{}, sigErrorf("IncompleteSignature", "Unsupported AWS 'algorithm': '%s'.", a)
	}
	s := sigRequest{signature: q.Get("X-Amz-Signature"), amzDate: q.Get("X-Amz-Date"), presigned: true}
	var err error
	if s.cred, err = parseSigScope(q.Get("X-Amz-Credential")); err != nil {
		return sigRequest{}, err
	}
	if s.signedHeaders, err = parseSigSignedHeaders(q.Get("X-Amz-SignedHeaders")); err != nil {
		return sigRequest{}, err
	}
	if s.date, err = time.Parse(sigAmzDateFormat, s.amzDate); err != nil {
		return sigRequest{}, &SigError{"IncompleteSignature", "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"."}
	}
	if v := q.Get("X-Amz-Expires"); v != "" {
		s.expires, err = strconv.Atoi(v)
		if err != nil || s.expires < 1 || s.expires > sigMaxExpires {
			return sigRequest{}, sigErrorf("IncompleteSignature", "X-Amz-Expires must be a number of seconds between 1 and %d.", sigMaxExpires)
		}
	}
	return s, nil
}

// parseSigScope parses "AKID/yyyymmdd/region/service/aws4_request".
func parseSigScope(credential string) (Credential, error) {
	parts := strings.Split(credential, "/")
	if len(parts) != 5 || parts[0] == "" || parts[2] == "" || parts[3] == "" {
		return Credential{}, &SigError{"IncompleteSignature", sigMalformedCredential}
	}
	if _, err := time.Parse("20060102", parts[1]); err != nil || len(parts[1]) != 8 {
		return Credential{}, &SigError{"IncompleteSignature", sigMalformedCredential}
	}
	if parts[4] != sigTerminator {
		return Credential{}, sigErrorf("IncompleteSignature", "Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", parts[4])
	}
	return Credential{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}, nil
}

// parseSigSignedHeaders parses "host;x-amz-date"; host must be signed.
func parseSigSignedHeaders(list string) ([]string, error) {
	names := strings.Split(list, ";")
	hasHost := false
	for _, n := range names {
		if n == "" || n != strings.ToLower(n) {
			return nil, sigErrorf("IncompleteSignature", "SignedHeaders must be a list of lowercase header names separated by ';': '%s'.", list)
		}
		hasHost = hasHost || n == "host"
	}
	if !hasHost {
		return nil, &SigError{"IncompleteSignature", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."}
	}
	return names, nil
}

// checkTime rejects requests dated more than 15 minutes away from now, and
// presigned requests past their expiry.
func (s sigRequest) checkTime(now time.Time) error {
	expired := now.Sub(s.date) > sigMaxSkew
	if s.presigned && s.expires > 0 {
		expired = now.Sub(s.date) > time.Duration(s.expires)*time.Second
	}
	if s.date.Sub(now) > sigMaxSkew {
		return sigErrorf("RequestExpired", "Request timestamp %s is more than 15 minutes in the future (server time %s).", s.amzDate, now.UTC().Format(sigAmzDateFormat))
	}
	if expired {
		return sigErrorf("RequestExpired", "Request has expired: timestamp %s, server time %s.", s.amzDate, now.UTC().Format(sigAmzDateFormat))
	}
	return nil
}

// sigCanonicalURI normalizes the escaped request path (removing "." and ".."
// and empty segments, as botocore does) and URI-encodes it again: for
// services other than S3 the canonical path is double-encoded.
func sigCanonicalURI(escapedPath string) string {
	if escapedPath == "" {
		return "/"
	}
	p := path.Clean("/" + escapedPath)
	if strings.HasSuffix(escapedPath, "/") && p != "/" {
		p += "/"
	}
	return sigEncode(p, true)
}

// sigCanonicalQuery encodes each query parameter name and value, then sorts
// them by name and value (sorting after encoding, as the SDKs do). A
// presigned request's X-Amz-Signature is not part of it.
func sigCanonicalQuery(rawQuery string, presigned bool) (string, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", &SigError{"MalformedQueryString", "The query string is malformed: " + err.Error()}
	}
	var params [][2]string
	for k, values := range q {
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		for _, v := range values {
			params = append(params, [2]string{sigEncode(k, false), sigEncode(v, false)})
		}
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i][0] != params[j][0] {
			return params[i][0] < params[j][0]
		}
		return params[i][1] < params[j][1]
	})
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p[0] + "=" + p[1])
	}
	return b.String(), nil
}

// sigCanonicalHeaders returns "name:value\n" for each signed header, values
// trimmed with sequential spaces collapsed and multiple values joined by ",".
// Go's server keeps Host in r.Host and may move Content-Length and
// Transfer-Encoding out of r.Header, so those are recovered from r.
func sigCanonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		values := r.Header.Values(name)
		switch {
		case name == "host":
			values = []string{r.Host}
		case len(values) > 0:
		case name == "content-length" && r.ContentLength >= 0:
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		case name == "transfer-encoding":
			values = r.TransferEncoding
		}
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range values {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.Join(strings.FieldsFunc(strings.TrimSpace(v), func(c rune) bool { return c == ' ' }), " "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// sigEncode percent-encodes every byte outside the RFC 3986 unreserved set
// (A-Z a-z 0-9 - _ . ~) with uppercase hex, keeping '/' if keepSlash.
func sigEncode(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || c == '/' && keepSlash {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

func sigHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func sigHMAC(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
