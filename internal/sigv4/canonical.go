package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
)

// canonicalURI normalizes the escaped request path (removing "." and ".."
// and empty segments, as botocore does) and URI-encodes it again: for
// services other than S3 the canonical path is double-encoded.
func canonicalURI(escapedPath string) string {
	if escapedPath == "" {
		return "/"
	}
	p := path.Clean("/" + escapedPath)
	if strings.HasSuffix(escapedPath, "/") && p != "/" {
		p += "/"
	}
	return uriEncode(p, true)
}

// canonicalQuery encodes each query parameter name and value, then sorts
// them by name and value (sorting after encoding, as the SDKs do). A
// presigned request's X-Amz-Signature is not part of it.
func canonicalQuery(rawQuery string, presigned bool) (string, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", &Error{"MalformedQueryString", "The query string is malformed: " + err.Error()}
	}
	var params [][2]string
	for k, values := range q {
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		for _, v := range values {
			params = append(params, [2]string{uriEncode(k, false), uriEncode(v, false)})
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

// canonicalHeaders returns "name:value\n" for each signed header, values
// trimmed with sequential spaces collapsed and multiple values joined by ",".
// Go's server keeps Host in r.Host and may move Content-Length and
// Transfer-Encoding out of r.Header, so those are recovered from r.
func canonicalHeaders(r *http.Request, signed []string) string {
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

// uriEncode percent-encodes every byte outside the RFC 3986 unreserved set
// (A-Z a-z 0-9 - _ . ~) with uppercase hex, keeping '/' if keepSlash.
func uriEncode(s string, keepSlash bool) string {
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

// hashHex is the hex-encoded SHA-256 of b.
func hashHex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// hmacSHA256 is the HMAC-SHA256 of data with key.
func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
