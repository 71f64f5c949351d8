package relay

import (
	"bytes"
	"errors"
	"io"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Collector is the relay process's metrics as this process's: each scrape asks
// the relay process for them (after OnCollect's hook), and none are collected
// while it does not answer.
func (c *Client) Collector() prometheus.Collector { return collector{c} }

type collector struct{ c *Client }

// Describe describes nothing: the relay's metrics are known when scraped
// (an unchecked collector).
func (collector) Describe(chan<- *prometheus.Desc) {}

func (m collector) Collect(ch chan<- prometheus.Metric) {
	if h := m.c.onCollect.Load(); h != nil {
		(*h)()
	}
	var b []byte
	if err := m.c.call("Metrics", false, &b, queryTimeout); err != nil {
		m.c.log.Debug("relay: metrics", "err", err)
		return
	}
	dec := expfmt.NewDecoder(bytes.NewReader(b), expfmt.NewFormat(expfmt.TypeProtoDelim))
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			if !errors.Is(err, io.EOF) {
				m.c.log.Warn("relay: decoding its metrics", "err", err)
			}
			return
		}
		for _, metric := range mf.GetMetric() {
			labels := make([]string, len(metric.GetLabel()))
			for i, l := range metric.GetLabel() {
				labels[i] = l.GetName()
			}
			ch <- remoteMetric{desc: prometheus.NewDesc(mf.GetName(), mf.GetHelp(), labels, nil), m: metric}
		}
	}
}

// remoteMetric is one metric as the relay process wrote it.
type remoteMetric struct {
	desc *prometheus.Desc
	m    *dto.Metric
}

func (r remoteMetric) Desc() *prometheus.Desc { return r.desc }

func (r remoteMetric) Write(out *dto.Metric) error {
	out.Label = r.m.Label
	out.Counter = r.m.Counter
	out.Gauge = r.m.Gauge
	out.Untyped = r.m.Untyped
	out.Histogram = r.m.Histogram
	out.Summary = r.m.Summary
	out.TimestampMs = r.m.TimestampMs
	return nil
}
