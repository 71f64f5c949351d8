package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// writeReport writes BASE.md, BASE.json and one SVG per figure to dir (base
// "latest" for figures 1–7 and 9, "hosts" for figure 8, "ha" for figure 10).
func writeReport(dir, base string, r *results) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, base+".json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	for _, fig := range r.figures() {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("fig%d.svg", fig)), []byte(figureSVG(r, fig)), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, base+".md"), []byte(markdown(r)), 0o644)
}

// figureTitles name the figures of issue 5.
var figureTitles = map[int]string{
	1:  "Bulk throughput",
	2:  "Request/response round trip, 64-byte messages, one connection",
	3:  "New connections per second (connect, 1-byte echo, close)",
	4:  "Idle proxied connections",
	5:  "Control plane",
	6:  "Failover (two targets, one killed)",
	7:  "Scale: many endpoints to one service",
	8:  "Across hosts: the endpoint across the backbone vs direct",
	9:  "Restart of the server: new and established connections",
	10: "High availability: the control plane across server replicas",
}

// figures lists the figures that have samples, in order.
func (r *results) figures() []int {
	var figs []int
	for _, m := range r.Metrics {
		if len(r.pathsOf(m.Name)) > 0 && !slices.Contains(figs, m.Figure) {
			figs = append(figs, m.Figure)
		}
	}
	slices.Sort(figs)
	return figs
}

// row is one line of the results table.
type row struct {
	m      metric
	path   string
	s      summary
	ratios []string
}

// rows are the table's lines: one per metric × path, metrics in definition order.
func (r *results) rows() []row {
	var rows []row
	ms := slices.Clone(r.Metrics)
	slices.SortStableFunc(ms, func(a, b metric) int { return a.Figure - b.Figure })
	for _, m := range ms {
		for _, p := range r.pathsOf(m.Name) {
			s := summarize(r.values(m.Name, p))
			var ratios []string
			for _, ref := range m.Refs {
				if ref == p {
					continue
				}
				if x := ratio(s, summarize(r.values(m.Name, ref))); !math.IsNaN(x) {
					ratios = append(ratios, fmt.Sprintf("%.2f× %s", x, ref))
				}
			}
			rows = append(rows, row{m: m, path: p, s: s, ratios: ratios})
		}
	}
	return rows
}

// markdown renders the results as a Markdown page.
func markdown(r *results) string {
	var b strings.Builder
	mode := "full run"
	if r.Quick {
		mode = "quick run (smoke test: few repetitions, small counts)"
	}
	title := r.Title
	if title == "" {
		title = "Strait benchmark results"
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	fmt.Fprintf(&b, "%s, %s, %s.\n\n", r.Started.UTC().Format("2006-01-02 15:04 UTC"), mode, r.Finished.Sub(r.Started).Round(time.Second))
	m := r.Machine
	fmt.Fprintf(&b, "Machine: %d CPUs (%s), kernel %s, open-file limit %s; %s; %s; Strait %s. Load average at start %s, at end %s.\n\n",
		m.CPUs, m.CPUModel, m.Kernel, m.OpenFiles, m.HAProxy, m.Go, m.Commit, m.LoadAvgRun, r.LoadAvgEnd)
	fmt.Fprintf(&b, "Paths: ")
	var ps []string
	for _, p := range r.Paths {
		ps = append(ps, fmt.Sprintf("**%s** (%s)", p.Name, pathDescriptions[p.Name]))
	}
	fmt.Fprintf(&b, "%s.\n\n", strings.Join(ps, "; "))
	fmt.Fprintf(&b, "Each value is min / median / max over n repetitions; ratios compare medians (path ÷ reference).\n\n")
	b.WriteString("| fig | metric | path | n | min | median | max | unit | ratio |\n|---:|---|---|---:|---:|---:|---:|---|---|\n")
	for _, w := range r.rows() {
		unit := w.m.Unit
		if w.m.Lower {
			unit += " (lower is better)"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %d | %s | %s | %s | %s | %s |\n", w.m.Figure, w.m.Name, w.path, w.s.N,
			num(w.s.Min), num(w.s.Median), num(w.s.Max), unit, strings.Join(w.ratios, ", "))
	}
	if len(r.Notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(n, "\n", " "))
		}
	}
	b.WriteString("\n")
	for _, f := range r.figures() {
		fmt.Fprintf(&b, "![Figure %d: %s](fig%d.svg)\n", f, figureTitles[f], f)
	}
	return b.String()
}

// pathDescriptions explain the paths in the report.
var pathDescriptions = map[string]string{
	pLoopback: "client and server on 127.0.0.1 in the host namespace: the limit",
	pDirect:   "provider instance A → instance B in another subnet of the same VPC, no proxy",
	pStrait: "consumer instance → interface endpoint → NLB → instance B, PROXY v2 off, translated in the kernel " +
		"(nftables DNAT/SNAT through the transit namespace; no proxy process: its proxy CPU, RSS and descriptor rows are the Strait server's, which does no work per connection)",
	pRelay:      "the same on a target group with strait.relay.enabled=true: the user-space relay accepts and dials, in the relay process the Strait server starts (`strait relay`)",
	pPPv2:       "the same through the relay with PROXY v2 on (the server strips the header)",
	pHAProxy:    "instance A → HAProxy (mode tcp, splice) in the provider VPC namespace → instance B",
	pOneHost:    "provider instance A → A2 in another subnet of the same VPC on the same host (h1), no proxy: for scale",
	pAcross:     "provider instance A on host 1 → instance B in another subnet of the same VPC on host 2, across the backbone, no proxy",
	pSingle:     "one `strait server --dataplane none --agent-listen` on its own embedded store, one `strait agent` host",
	pReplicas:   "three `strait server --dataplane none --agent-listen` replicas on a three-member embedded etcd cluster (processes on loopback), one `strait agent` host that knows all three",
	pOneReplica: "the three replicas, every call to one that does not lead",
	pSpread:     "the three replicas, calls spread round-robin over them",
	pKillBoth:   "the three replicas, the leader killed while its embedded etcd member also leads the etcd cluster (moved there first if it did not)",
	pKillLease:  "the three replicas, the leader killed while another replica's etcd member leads the etcd cluster (moved there first)",
	pAcrossStrait: "consumer instance on host 1 → interface endpoint → NLB node (host 1, cross-zone) → across the backbone → instance B on host 2, " +
		"translated in the kernel",
}

// num formats a value with about three significant digits, without exponents.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return "–"
	case a >= 100 || v == 0:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}
