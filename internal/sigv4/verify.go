package sigv4

import (
	"crypto/hmac"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Signature Version 4 constants.
const (
	algorithm       = "AWS4-HMAC-SHA256"
	terminator      = "aws4_request"
	amzDateFormat   = "20060102T150405Z"
	unsignedPayload = "UNSIGNED-PAYLOAD"
	maxSkew         = 15 * time.Minute
	maxExpires      = 7 * 24 * 60 * 60 // seconds, as in AWS
	mismatchMessage = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	malformedCredential = "Authorization header is malformed; the Credential is mal-formed; " +
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

// Error is an authentication failure, carrying the AWS error code and
// message to return to the client.
type Error struct{ Code, Message string }

// Error returns "Code: Message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ParseCredential extracts the credential scope from the Authorization header
// (AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request,
// SignedHeaders=..., Signature=...) or from presigned query parameters
// (X-Amz-Credential etc.). It does not verify anything. Errors are *Error.
func ParseCredential(r *http.Request) (Credential, error) {
	s, err := parseRequest(r)
	if err != nil {
		return Credential{}, err
	}
	return s.cred, nil
}

// Verify verifies the Signature Version 4 signature of r. body is the
// full request body, already read by the caller. lookup gives the secret for
// the access key. now is used to check that the X-Amz-Date (or Date) of the
// request is within 15 minutes, and that a presigned request has not expired.
// If skipSignature is true (dev mode), it only parses and returns the
// credential, accepting any secret and unknown keys.
//
// Region and service are not checked; the caller decides which scopes it
// accepts. When the request parses but fails verification, the returned
// Credential is the one claimed by the request, and the error is a *Error.
func Verify(r *http.Request, body []byte, lookup SecretLookup, now time.Time, skipSignature bool) (Credential, error) {
	s, err := parseRequest(r)
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
		return s.cred, &Error{"InvalidClientTokenId", "The security token included in the request is invalid."}
	}
	if err := s.checkTime(now); err != nil {
		return s.cred, err
	}
	if s.cred.Date != s.amzDate[:8] {
		return s.cred, errorf("SignatureDoesNotMatch",
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			s.cred.Date, s.amzDate[:8], s.amzDate)
	}
	query, err := canonicalQuery(r.URL.RawQuery, s.presigned)
	if err != nil {
		return s.cred, err
	}
	bodyHash := hashHex(body)
	payloadHashes := []string{bodyHash}
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != unsignedPayload {
		if !strings.EqualFold(h, bodyHash) {
			return s.cred, &Error{"SignatureDoesNotMatch", "The provided 'x-amz-content-sha256' header does not match what was computed."}
		}
		payloadHashes[0] = h
	}
	if len(body) == 0 {
		// Presigned URLs are usually signed with UNSIGNED-PAYLOAD. It is
		// accepted only when there is no body, so that nothing goes unsigned.
		payloadHashes = append(payloadHashes, unsignedPayload)
	}

	key := []byte("AWS4" + secret)
	for _, part := range []string{s.cred.Date, s.cred.Region, s.cred.Service, terminator} {
		key = hmacSHA256(key, part)
	}
	scope := strings.Join([]string{s.cred.Date, s.cred.Region, s.cred.Service, terminator}, "/")
	prefix := r.Method + "\n" + canonicalURI(r.URL.EscapedPath()) + "\n" + query + "\n" +
		canonicalHeaders(r, s.signedHeaders) + "\n" + strings.Join(s.signedHeaders, ";") + "\n"
	for _, payloadHash := range payloadHashes {
		stringToSign := algorithm + "\n" + s.amzDate + "\n" + scope + "\n" + hashHex([]byte(prefix+payloadHash))
		signature := hex.EncodeToString(hmacSHA256(key, stringToSign))
		if hmac.Equal([]byte(signature), []byte(s.signature)) {
			return s.cred, nil
		}
	}
	return s.cred, &Error{"SignatureDoesNotMatch", mismatchMessage}
}
