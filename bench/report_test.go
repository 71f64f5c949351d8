package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sampleResults are fixed results covering ratios, lower-is-better metrics, paths
// without a reference and a metric without samples.
func sampleResults() *results {
	r := &results{
		Started:    time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		Finished:   time.Date(2026, 1, 2, 3, 19, 30, 0, time.UTC),
		Machine:    machine{CPUs: 2, CPUModel: "Test CPU", Kernel: "6.1.0", HAProxy: "HAProxy version 2.6.12", Go: "go1.26", Commit: "abc1234", OpenFiles: "20000", LoadAvgRun: "0.10 0.20 0.30"},
		LoadAvgEnd: "1.00 1.10 1.20",
		Paths:      []path{{Name: pDirect, Client: "i-1", Addr: "10.0.2.4:7000"}, {Name: pStrait, Client: "i-2", Addr: "10.0.1.5:7000"}, {Name: pHAProxy, Client: "i-1", Addr: "10.0.1.1:7100"}},
		Notes:      []string{"a note"},
	}
	thr := r.define(metric{Figure: 1, Name: "throughput, 1 stream", Unit: "Gbit/s", Refs: []string{pDirect, pHAProxy}})
	lat := r.define(metric{Figure: 2, Name: "round trip p50", Unit: "µs", Lower: true, Refs: []string{pDirect, pHAProxy}})
	r.define(metric{Figure: 3, Name: "never measured", Unit: "x"})
	cp := r.define(metric{Figure: 5, Name: "CreateVpcEndpoint → available", Unit: "ms", Lower: true})
	for rep, v := range []float64{10, 12, 11} {
		r.add(thr, pDirect, rep, v, nil)
		r.add(thr, pStrait, rep, v*0.9, nil)
		r.add(thr, pHAProxy, rep, v*0.8, nil)
		r.add(lat, pDirect, rep, 30+v, nil)
		r.add(lat, pStrait, rep, 60+v, nil)
		r.add(lat, pHAProxy, rep, 70+v, nil)
	}
	r.add(cp, pStrait, 0, 4.2, nil)
	r.add(cp, pStrait, 1, 5.8, nil)
	return r
}

// golden compares got with testdata/name (rewrites it under -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./bench -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./bench -update, then review the diff):\n%s", name, got)
	}
}

func TestMarkdownGolden(t *testing.T) { golden(t, "report.md", []byte(markdown(sampleResults()))) }

func TestSVGGolden(t *testing.T) {
	r := sampleResults()
	if figs := r.figures(); len(figs) != 3 || figs[0] != 1 || figs[1] != 2 || figs[2] != 5 {
		t.Fatalf("figures with samples = %v, want [1 2 5]", figs)
	}
	golden(t, "fig1.svg", []byte(figureSVG(r, 1)))
	golden(t, "fig5.svg", []byte(figureSVG(r, 5)))
}

func TestRows(t *testing.T) {
	rows := sampleResults().rows()
	if len(rows) != 7 {
		t.Fatalf("%d rows, want 7 (3 + 3 + 1)", len(rows))
	}
	s := rows[1] // throughput over strait: 9, 10.8, 9.9
	if s.path != pStrait || s.s.N != 3 || s.s.Min != 9 || s.s.Max != 10.8 {
		t.Errorf("strait throughput row = %+v", s)
	}
	if len(s.ratios) != 2 || s.ratios[0] != "0.90× direct" || s.ratios[1] != "1.12× haproxy" {
		t.Errorf("strait throughput ratios = %q", s.ratios)
	}
	if d := rows[0]; len(d.ratios) != 1 || d.ratios[0] != "1.25× haproxy" {
		t.Errorf("direct throughput ratios = %q, want only vs haproxy", d.ratios)
	}
	if cp := rows[6]; cp.s.Median != 5 || len(cp.ratios) != 0 {
		t.Errorf("control-plane row = %+v", cp)
	}
}

func TestSkipProxyV2(t *testing.T) {
	hdr := append([]byte{}, proxyV2Sig...)
	hdr = append(hdr, 0x21, 0x11, 0, 12) // v2 PROXY, TCP over IPv4, 12 bytes
	hdr = append(hdr, 10, 0, 1, 4, 10, 0, 1, 5, 0x1f, 0x40, 0x1b, 0x58)
	r := bytes.NewReader(append(hdr, 'E'))
	if err := skipProxyV2(r); err != nil {
		t.Fatal(err)
	}
	if b, _ := r.ReadByte(); b != 'E' {
		t.Errorf("after the header: %q, want 'E'", b)
	}
	if err := skipProxyV2(bytes.NewReader([]byte("EEEEEEEEEEEEEEEEEEEE"))); err == nil {
		t.Error("a stream without a header was accepted")
	}
}
