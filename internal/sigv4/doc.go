// Package sigv4 verifies AWS Signature Version 4: it parses the credential a
// request claims (Authorization header or presigned query parameters), checks
// its date and signature against the secret of its access key, and resolves
// the key to the caller's account. Failures are *Error values carrying the
// AWS error code and message, which each API writes in its own format. Both
// the EC2/ELBv2 Query API (awsapi) and the native JSON API (nativeapi)
// authenticate through it; clients sign with the AWS SDKs' signers.
package sigv4
