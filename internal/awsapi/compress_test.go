package awsapi

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
)

func TestAcceptsGzip(t *testing.T) {
	for _, c := range []struct {
		header []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"identity"}, false},
		{[]string{"gzip"}, true},
		{[]string{"GZip"}, true},
		{[]string{"x-gzip"}, true},
		{[]string{"deflate, gzip;q=0.5"}, true},
		{[]string{"br", "gzip"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.000"}, false},
		{[]string{"gzip;q=bad"}, false},
		{[]string{"*"}, true},
		{[]string{"*;q=0"}, false},
		{[]string{"gzip;q=0, *"}, false},
		{[]string{"*, gzip;q=0"}, false},
		{[]string{"identity, *;q=0.1"}, true},
	} {
		if got := acceptsGzip(c.header); got != c.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", c.header, got, c.want)
		}
	}
}

func TestGzipBodyRoundTrip(t *testing.T) {
	doc := []byte(strings.Repeat("<item><vpcEndpointId>vpce-0123456789abcdef0</vpcEndpointId></item>", 200))
	for range 2 { // the second pass uses a recycled compressor
		z := gzipBody(doc)
		if len(z) >= len(doc)/4 {
			t.Errorf("compressed %d bytes to %d", len(doc), len(z))
		}
		zr, err := gzip.NewReader(bytes.NewReader(z))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, doc) {
			t.Fatalf("round trip: %v, %d bytes, equal %v", err, len(got), bytes.Equal(got, doc))
		}
	}
}
