package sigv4

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// request is the authentication information carried by a request.
type request struct {
	cred          Credential
	signedHeaders []string
	signature     string
	amzDate       string    // ISO 8601 basic format, as used in the string to sign
	date          time.Time // amzDate parsed
	presigned     bool
	expires       int // X-Amz-Expires in seconds; 0 if absent
}

// parseRequest reads the authentication information from the
// Authorization header or from presigned query parameters.
func parseRequest(r *http.Request) (request, error) {
	auth := r.Header.Get("Authorization")
	q := r.URL.Query()
	presigned := q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Credential") || q.Has("X-Amz-Signature")
	switch {
	case auth != "" && presigned:
		return request{}, &Error{"IncompleteSignature", "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified."}
	case auth != "":
		return parseHeader(r, auth)
	case presigned:
		return parseQuery(q)
	}
	return request{}, &Error{"MissingAuthenticationToken", "Request is missing Authentication Token"}
}

func parseHeader(r *http.Request, auth string) (request, error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(auth), " ")
	if alg != algorithm {
		return request{}, errorf("IncompleteSignature", "Unsupported AWS 'algorithm': '%s'.", alg)
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if _, dup := fields[k]; !ok || dup {
			return request{}, errorf("IncompleteSignature", "Authorization header requires each component to be of the form key=value, once: '%s'.", strings.TrimSpace(part))
		}
		fields[k] = v
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if fields[k] == "" {
			return request{}, errorf("IncompleteSignature", "Authorization header requires '%s' parameter.", k)
		}
	}
	s := request{signature: fields["Signature"]}
	var err error
	if s.cred, err = parseScope(fields["Credential"]); err != nil {
		return request{}, err
	}
	if s.signedHeaders, err = parseSignedHeaders(fields["SignedHeaders"]); err != nil {
		return request{}, err
	}
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		s.amzDate = v
		s.date, err = time.Parse(amzDateFormat, v)
	} else if v := r.Header.Get("Date"); v != "" {
		s.date, err = http.ParseTime(v)
		s.amzDate = s.date.UTC().Format(amzDateFormat)
	} else {
		return request{}, &Error{"IncompleteSignature", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}
	}
	if err != nil {
		return request{}, &Error{"IncompleteSignature", "The request date is not in a valid format."}
	}
	return s, nil
}

func parseQuery(q url.Values) (request, error) {
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders"} {
		if q.Get(k) == "" {
			return request{}, errorf("IncompleteSignature", "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date' and 'X-Amz-SignedHeaders'; '%s' is missing.", k)
		}
	}
	if a := q.Get("X-Amz-Algorithm"); a != algorithm {
		return request{}, errorf("IncompleteSignature", "Unsupported AWS 'algorithm': '%s'.", a)
	}
	s := request{signature: q.Get("X-Amz-Signature"), amzDate: q.Get("X-Amz-Date"), presigned: true}
	var err error
	if s.cred, err = parseScope(q.Get("X-Amz-Credential")); err != nil {
		return request{}, err
	}
	if s.signedHeaders, err = parseSignedHeaders(q.Get("X-Amz-SignedHeaders")); err != nil {
		return request{}, err
	}
	if s.date, err = time.Parse(amzDateFormat, s.amzDate); err != nil {
		return request{}, &Error{"IncompleteSignature", "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"."}
	}
	if v := q.Get("X-Amz-Expires"); v != "" {
		s.expires, err = strconv.Atoi(v)
		if err != nil || s.expires < 1 || s.expires > maxExpires {
			return request{}, errorf("IncompleteSignature", "X-Amz-Expires must be a number of seconds between 1 and %d.", maxExpires)
		}
	}
	return s, nil
}

// parseScope parses "AKID/yyyymmdd/region/service/aws4_request".
func parseScope(credential string) (Credential, error) {
	parts := strings.Split(credential, "/")
	if len(parts) != 5 || parts[0] == "" || parts[2] == "" || parts[3] == "" {
		return Credential{}, &Error{"IncompleteSignature", malformedCredential}
	}
	if _, err := time.Parse("20060102", parts[1]); err != nil || len(parts[1]) != 8 {
		return Credential{}, &Error{"IncompleteSignature", malformedCredential}
	}
	if parts[4] != terminator {
		return Credential{}, errorf("IncompleteSignature", "Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", parts[4])
	}
	return Credential{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}, nil
}

// parseSignedHeaders parses "host;x-amz-date"; host must be signed.
func parseSignedHeaders(list string) ([]string, error) {
	names := strings.Split(list, ";")
	hasHost := false
	for _, n := range names {
		if n == "" || n != strings.ToLower(n) {
			return nil, errorf("IncompleteSignature", "SignedHeaders must be a list of lowercase header names separated by ';': '%s'.", list)
		}
		hasHost = hasHost || n == "host"
	}
	if !hasHost {
		return nil, &Error{"IncompleteSignature", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."}
	}
	return names, nil
}

// checkTime rejects requests dated more than 15 minutes away from now, and
// presigned requests past their expiry.
func (s request) checkTime(now time.Time) error {
	expired := now.Sub(s.date) > maxSkew
	if s.presigned && s.expires > 0 {
		expired = now.Sub(s.date) > time.Duration(s.expires)*time.Second
	}
	if s.date.Sub(now) > maxSkew {
		return errorf("RequestExpired", "Request timestamp %s is more than 15 minutes in the future (server time %s).", s.amzDate, now.UTC().Format(amzDateFormat))
	}
	if expired {
		return errorf("RequestExpired", "Request has expired: timestamp %s, server time %s.", s.amzDate, now.UTC().Format(amzDateFormat))
	}
	return nil
}
