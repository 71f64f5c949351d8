package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Plot geometry: one panel per metric, side by side.
const (
	panelW   = 380 // at least; wider for more than 5 bars (slotW each)
	slotW    = 70
	panelH   = 300
	plotTop  = 60  // room for the panel title and bar labels
	plotBot  = 250 // baseline of the bars
	plotLeft = 20
	titleH   = 30

	panelsPerRow = 3
)

// pathColors give every path the same color in every plot.
var pathColors = map[string]string{
	pLoopback:     "#9e9e9e",
	pDirect:       "#1f77b4",
	pStrait:       "#2ca02c",
	pRelay:        "#98df8a",
	pPPv2:         "#17becf",
	pHAProxy:      "#ff7f0e",
	pOneHost:      "#aec7e8",
	pAcross:       "#1f77b4",
	pAcrossStrait: "#2ca02c",
}

// extraColors color paths without their own color.
var extraColors = []string{"#9467bd", "#8c564b", "#e377c2", "#bcbd22"}

// figureSVG draws a figure: for each of its metrics a panel of bars (the median)
// with min–max whiskers, each labelled with its median and its ratio to the
// metric's first reference path.
func figureSVG(r *results, fig int) string {
	var ms []metric
	for _, m := range r.Metrics {
		if m.Figure == fig && len(r.pathsOf(m.Name)) > 0 {
			ms = append(ms, m)
		}
	}
	cols := min(max(len(ms), 1), panelsPerRow)
	rows := max((len(ms)+panelsPerRow-1)/panelsPerRow, 1)
	pw := panelW
	for _, m := range ms {
		pw = max(pw, plotLeft+10+slotW*len(r.pathsOf(m.Name)))
	}
	w, h := cols*pw, titleH+rows*panelH
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">Figure %d: %s</text>`+"\n", fig, esc(figureTitles[fig]))
	for i, m := range ms {
		panelSVG(&b, r, m, pw, i%panelsPerRow*pw, titleH+i/panelsPerRow*panelH)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// panelSVG draws one metric's bars in a panel pw wide at offset (x0, y0).
func panelSVG(b *strings.Builder, r *results, m metric, pw, x0, y0 int) {
	paths := r.pathsOf(m.Name)
	sums := make([]summary, len(paths))
	top := 0.0
	for i, p := range paths {
		sums[i] = summarize(r.values(m.Name, p))
		top = math.Max(top, sums[i].Max)
	}
	if top <= 0 {
		top = 1
	}
	var ref summary
	refName := ""
	if len(m.Refs) > 0 {
		refName = m.Refs[0]
		ref = summarize(r.values(m.Name, refName))
	}
	unit := m.Unit
	if m.Lower {
		unit += ", lower is better"
	}
	fmt.Fprintf(b, `<g transform="translate(%d,%d)">`+"\n", x0, y0)
	fmt.Fprintf(b, `<text x="%d" y="16" font-size="12" font-weight="bold">%s</text>`+"\n", plotLeft, esc(m.Name))
	fmt.Fprintf(b, `<text x="%d" y="30" font-size="11" fill="#555">%s</text>`+"\n", plotLeft, esc(unit))
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", plotLeft, plotBot, pw-10, plotBot)
	slot := float64(pw-10-plotLeft) / float64(len(paths))
	y := func(v float64) float64 { return plotBot - v/top*float64(plotBot-plotTop) }
	for i, p := range paths {
		s := sums[i]
		cx := float64(plotLeft) + slot*(float64(i)+0.5)
		bw := math.Min(slot*0.6, 50)
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", cx-bw/2, y(s.Median), bw, plotBot-y(s.Median), color(p, i))
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", cx, y(s.Min), cx, y(s.Max))
		for _, v := range []float64{s.Min, s.Max} {
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", cx-bw/4, y(v), cx+bw/4, y(v))
		}
		label := num(s.Median)
		if refName != "" && refName != p {
			if x := ratio(s, ref); !math.IsNaN(x) {
				fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle" fill="#555">%.2f× %s</text>`+"\n", cx, y(s.Max)-4, x, esc(refName))
				fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%s</text>`+"\n", cx, y(s.Max)-16, label)
				label = ""
			}
		}
		if label != "" {
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%s</text>`+"\n", cx, y(s.Max)-4, label)
		}
		name, detail, twoLines := strings.Cut(p, " (") // "strait (kernel)": the detail on a second line
		fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>`+"\n", cx, plotBot+14, esc(name))
		nY := plotBot + 26
		if twoLines {
			fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle">(%s</text>`+"\n", cx, plotBot+26, esc(detail))
			nY = plotBot + 38
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="9" text-anchor="middle" fill="#777">n=%d</text>`+"\n", cx, nY, s.N)
	}
	b.WriteString("</g>\n")
}

// color is a path's color; paths without one take the i-th extra color.
func color(p string, i int) string {
	if c, ok := pathColors[p]; ok {
		return c
	}
	return extraColors[i%len(extraColors)]
}

// esc escapes text for SVG.
func esc(s string) string { return html.EscapeString(s) }
