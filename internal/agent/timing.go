package agent

import (
	"log/slog"
	"time"
)

// phases times the steps of one Apply for its debug log line: each step's
// duration accumulates under its name, in the order the steps first ran.
type phases struct {
	start time.Time
	names []string
	took  map[string]time.Duration
}

func newPhases() *phases {
	return &phases{start: time.Now(), took: map[string]time.Duration{}}
}

// time runs fn and adds its duration to the step name.
func (p *phases) time(name string, fn func()) {
	t := time.Now()
	fn()
	p.add(name, time.Since(t))
}

// stepper returns a function that adds the time since its last call (or since
// stepper was called) to the step it names.
func (p *phases) stepper() func(name string) {
	mark := time.Now()
	return func(name string) {
		now := time.Now()
		p.add(name, now.Sub(mark))
		mark = now
	}
}

func (p *phases) add(name string, d time.Duration) {
	if _, ok := p.took[name]; !ok {
		p.names = append(p.names, name)
	}
	p.took[name] += d
}

// attrs are the steps' durations in milliseconds and the total.
func (p *phases) attrs() []any {
	out := make([]any, 0, 2*len(p.names)+2)
	out = append(out, slog.Float64("total_ms", ms(time.Since(p.start))))
	for _, n := range p.names {
		out = append(out, slog.Float64(n+"_ms", ms(p.took[n])))
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
