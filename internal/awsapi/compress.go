package awsapi

import (
	"bytes"
	"compress/gzip"
	"strconv"
	"strings"
	"sync"
)

// minGzipSize is the smallest response body worth compressing: smaller ones fit in
// the buffer an HTTP client fills from its socket in one read (4 KiB in Go's
// transport) and gain nothing from compression but its cost.
const minGzipSize = 4 << 10

// gzipWriters recycles compressors (each holds about 800 KB of tables).
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
	return zw
}}

// gzipBody compresses a response body.
func gzipBody(doc []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(doc) / 8)
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&b)
	_, _ = zw.Write(doc) // writes to a bytes.Buffer do not fail
	_ = zw.Close()
	return b.Bytes()
}

// acceptsGzip reports whether an Accept-Encoding header allows a gzip-coded
// response (RFC 9110 §12.5.3): "gzip" or "x-gzip" with a non-zero weight, or "*"
// with a non-zero weight when gzip is not listed. No header means no coding.
func acceptsGzip(values []string) bool {
	star := false
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(item, ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "gzip" && name != "x-gzip" && name != "*" {
				continue
			}
			ok := weight(params) > 0
			if name == "*" {
				star = ok
				continue
			}
			return ok
		}
	}
	return star
}

// weight parses the q parameter of an Accept-Encoding item (1 when absent, 0 when
// malformed).
func weight(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}
