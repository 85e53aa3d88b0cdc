package loadgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// cpuModel names this machine's processor (from /proc/cpuinfo).
func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// loadAverage is the machine's one-minute load average (0 if unknown).
func loadAverage() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	var l float64
	_, _ = fmt.Sscan(string(b), &l)
	return l
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

// WriteTable prints the steps as a table for a person.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "voxgate loadgen: %s (%s), %s run, %s, %d cores\n", r.Fixture, r.Codec, r.Mode, r.Machine, r.Cores)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "calls\tsetups/s\tfailed\tsetup p99 ms\tfwd p50\tfwd p95\tfwd p99\tfwd max\tret p50\tret p95\tret p99\tret max\tlost\tlate\tjitter ms\taudio\tCPU cores\tCPU/call %\tRSS MiB\tKiB/call\tload\t")
	for _, s := range r.Steps {
		perCall := 0.0
		if s.Calls > 0 {
			perCall = 100 * s.CPU / float64(s.Calls)
		}
		fmt.Fprintf(tw, "%d\t%.0f\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d+%d\t%d+%d\t%s\t%.0f%%\t%.2f\t%.3f\t%.0f\t%d\t%.1f\t\n",
			s.Calls, s.SetupRate, s.SetupsFailed, ms(s.Setup.P99),
			ms(s.Forward.P50), ms(s.Forward.P95), ms(s.Forward.P99), ms(s.Forward.Max),
			ms(s.Return.P50), ms(s.Return.P95), ms(s.Return.P99), ms(s.Return.Max),
			s.FramesLost, s.MarkersLost, s.FramesLate, s.MarkersLate, ms(s.JitterMean), 100*s.AudioMatch,
			s.CPU, perCall, float64(s.RSS)/(1<<20), s.RSSPerCall>>10, s.LoadAvg)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case r.Bridge:
		fmt.Fprintln(w, "bridge: no subscriber; fwd: the phone's marker sent → heard in the WebRTC leg's Opus; ret: WebRTC leg's Opus sent → G.711 RTP at the phone (ms).")
		fmt.Fprintln(w, "lost and late: the phone's markers + the WebRTC leg's markers.")
		for _, s := range r.Steps {
			fmt.Fprintf(w, "%d calls: the WebRTC legs heard %d frames, %.0f%% of them speech.\n", s.Calls, s.OpusFrames, 100*s.OpusSpeech)
		}
	case r.WebRTC:
		fmt.Fprintln(w, "fwd: phone RTP sent → audio.output at the subscriber; ret: WebRTC leg's Opus sent → G.711 RTP at the phone (ms).")
		for _, s := range r.Steps {
			fmt.Fprintf(w, "%d calls: the WebRTC legs heard %d frames, %.0f%% of them speech.\n", s.Calls, s.OpusFrames, 100*s.OpusSpeech)
		}
	default:
		fmt.Fprintln(w, "fwd: phone RTP sent → audio.output at the subscriber; ret: audio.input sent → RTP at the phone (ms).")
	}
	if !r.Bridge {
		fmt.Fprintln(w, "lost and late: frames + markers; audio: the fixture's speech frames heard at their level.")
	}
	if r.Mode == "ramp" {
		fmt.Fprintf(w, "capacity: %d calls", r.Capacity)
		if r.StoppedBy != "" {
			fmt.Fprintf(w, " (the next step broke: %s)", r.StoppedBy)
		}
		fmt.Fprintln(w)
	}
	return nil
}

// WriteJSON writes the report as JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteHTML writes a page with two SVG charts: latency percentiles against
// concurrent calls (each step), and the gateway's CPU and calls over time.
func (r *Report) WriteHTML(w io.Writer) error {
	return page.Execute(w, map[string]any{"R": r, "Latency": r.latencyChart(), "CPU": r.cpuChart()})
}

// chart is an SVG line chart.
type chart struct {
	W, H          float64
	Title, XLabel string
	YLabel        string
	Series        []series
	XTicks        []tick
	YTicks        []tick
	RTicks        []tick // the right axis, when a series uses it
}

type series struct {
	Name, Color, Points string
	Right               bool
}

type tick struct {
	Pos   float64
	Label string
}

const (
	chartW, chartH         = 760.0, 320.0
	padL, padR, padT, padB = 60.0, 60.0, 30.0, 45.0
)

// plot maps series of (x, y) onto the chart; right series use their own scale.
func plot(title, xl, yl string, xs []float64, ys map[string][]float64, order []string, colors map[string]string, right map[string]bool) template.HTML {
	c := chart{W: chartW, H: chartH, Title: title, XLabel: xl, YLabel: yl}
	maxX, maxY, maxR := 1.0, 1.0, 1.0
	for _, x := range xs {
		maxX = max(maxX, x)
	}
	for k, v := range ys {
		for _, y := range v {
			if right[k] {
				maxR = max(maxR, y)
			} else {
				maxY = max(maxY, y)
			}
		}
	}
	maxY *= 1.1
	maxR *= 1.1
	px := func(x float64) float64 { return padL + x/maxX*(chartW-padL-padR) }
	py := func(y, m float64) float64 { return chartH - padB - y/m*(chartH-padT-padB) }
	for _, k := range order {
		var b strings.Builder
		m := maxY
		if right[k] {
			m = maxR
		}
		for i, y := range ys[k] {
			fmt.Fprintf(&b, "%.1f,%.1f ", px(xs[i]), py(y, m))
		}
		c.Series = append(c.Series, series{Name: k, Color: colors[k], Points: b.String(), Right: right[k]})
	}
	for i := 0; i <= 5; i++ {
		x := maxX * float64(i) / 5
		c.XTicks = append(c.XTicks, tick{px(x), fmt.Sprintf("%.0f", x)})
		y := maxY * float64(i) / 5
		c.YTicks = append(c.YTicks, tick{py(y, maxY), fmt.Sprintf("%.1f", y)})
		if len(right) > 0 {
			r := maxR * float64(i) / 5
			c.RTicks = append(c.RTicks, tick{py(r, maxR), fmt.Sprintf("%.2f", r)})
		}
	}
	var buf bytes.Buffer
	if err := svg.Execute(&buf, c); err != nil {
		return template.HTML(template.HTMLEscapeString(err.Error()))
	}
	return template.HTML(buf.String()) // built from the template, numbers and escaped names
}

func (r *Report) latencyChart() template.HTML {
	var xs []float64
	ys := map[string][]float64{}
	for _, s := range r.Steps {
		xs = append(xs, float64(s.Calls))
		for k, d := range map[string]time.Duration{"forward p50": s.Forward.P50, "forward p99": s.Forward.P99,
			"return p50": s.Return.P50, "return p99": s.Return.P99} {
			ys[k] = append(ys[k], float64(d)/float64(time.Millisecond))
		}
		ys["CPU (cores)"] = append(ys["CPU (cores)"], s.CPU)
	}
	return plot("One-way latency (ms) and gateway CPU against concurrent calls", "concurrent calls", "ms", xs, ys,
		[]string{"forward p50", "forward p99", "return p50", "return p99", "CPU (cores)"},
		map[string]string{"forward p50": "#8ab4f8", "forward p99": "#1a56c4", "return p50": "#f6ae8a", "return p99": "#c4461a", "CPU (cores)": "#2e8b57"},
		map[string]bool{"CPU (cores)": true})
}

func (r *Report) cpuChart() template.HTML {
	var xs []float64
	ys := map[string][]float64{}
	for _, s := range r.Timeline {
		xs = append(xs, s.At)
		ys["calls"] = append(ys["calls"], float64(s.Calls))
		ys["CPU (cores)"] = append(ys["CPU (cores)"], s.CPU)
	}
	return plot("Concurrent calls and gateway CPU over the run", "seconds", "calls", xs, ys, []string{"calls", "CPU (cores)"},
		map[string]string{"calls": "#555", "CPU (cores)": "#2e8b57"}, map[string]bool{"CPU (cores)": true})
}

var svg = template.Must(template.New("svg").Funcs(funcs).Parse(`<svg xmlns="http://www.w3.org/2000/svg" width="{{.W}}" height="{{.H}}" font-family="sans-serif" font-size="12">
<text x="60" y="18" font-weight="bold">{{.Title}}</text>
<line x1="60" y1="275" x2="700" y2="275" stroke="#999"/><line x1="60" y1="30" x2="60" y2="275" stroke="#999"/>
{{range .XTicks}}<text x="{{printf "%.1f" .Pos}}" y="292" text-anchor="middle">{{.Label}}</text>{{end}}
{{range .YTicks}}<text x="54" y="{{printf "%.1f" .Pos}}" text-anchor="end">{{.Label}}</text><line x1="60" y1="{{printf "%.1f" .Pos}}" x2="700" y2="{{printf "%.1f" .Pos}}" stroke="#eee"/>{{end}}
{{range .RTicks}}<text x="706" y="{{printf "%.1f" .Pos}}" fill="#2e8b57">{{.Label}}</text>{{end}}
<text x="380" y="312" text-anchor="middle">{{.XLabel}}</text>
<text x="14" y="150" transform="rotate(-90 14 150)" text-anchor="middle">{{.YLabel}}</text>
{{range $i, $s := .Series}}<polyline fill="none" stroke="{{$s.Color}}" stroke-width="2" points="{{$s.Points}}"{{if $s.Right}} stroke-dasharray="5,3"{{end}}/>
<rect x="{{add 80 (mul $i 120)}}" y="40" width="12" height="4" fill="{{$s.Color}}"/><text x="{{add 96 (mul $i 120)}}" y="45">{{$s.Name}}{{if $s.Right}} (right){{end}}</text>
{{end}}</svg>`))

var page = template.Must(template.New("page").Funcs(funcs).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>voxgate loadgen: {{.R.Fixture}} {{.R.Mode}}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}</style></head>
<body><h1>voxgate loadgen</h1>
<p>{{.R.Fixture}} ({{.R.Codec}}), {{.R.Mode}} run started {{.R.Started.Format "2006-01-02 15:04 UTC"}} on {{.R.Machine}} ({{.R.Cores}} cores).
{{if eq .R.Mode "ramp"}}Capacity: <b>{{.R.Capacity}}</b> calls{{if .R.StoppedBy}} (next step: {{.R.StoppedBy}}){{end}}.{{end}}</p>
{{.Latency}}
{{.CPU}}
<table><tr><th>calls</th><th>setups/s</th><th>failed</th><th>fwd p50 ms</th><th>fwd p99 ms</th><th>fwd max ms</th><th>ret p50 ms</th><th>ret p99 ms</th><th>ret max ms</th><th>frames lost</th><th>markers lost</th><th>CPU cores</th><th>RSS/call KiB</th><th>load avg</th></tr>
{{range .R.Steps}}<tr><td>{{.Calls}}</td><td>{{printf "%.0f" .SetupRate}}</td><td>{{.SetupsFailed}}</td><td>{{ms .Forward.P50}}</td><td>{{ms .Forward.P99}}</td><td>{{ms .Forward.Max}}</td><td>{{ms .Return.P50}}</td><td>{{ms .Return.P99}}</td><td>{{ms .Return.Max}}</td><td>{{.FramesLost}}</td><td>{{.MarkersLost}}</td><td>{{printf "%.2f" .CPU}}</td><td>{{div .RSSPerCall 1024}}</td><td>{{printf "%.1f" .LoadAvg}}</td></tr>
{{end}}</table></body></html>`))

var funcs = template.FuncMap{"add": func(a, b int) int { return a + b }, "mul": func(a, b int) int { return a * b },
	"div": func(a, b int64) int64 { return a / b }, "ms": ms}

// Markers around the section UpdateMarkdown rewrites.
const (
	mdBegin = "<!-- loadgen:begin (written by voxgate loadgen --benchmarks; edits inside are lost) -->"
	mdEnd   = "<!-- loadgen:end -->"
)

// UpdateMarkdown replaces the loadgen section of a Markdown file (appending
// one if it has none) with this report: the command, machine, date and table.
func (r *Report) UpdateMarkdown(path, command string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n```\n%s\n```\n\n%s, fixture %s (%s), %s on %s (%d cores, shared with other engineers' builds and tests: expect ±30%% between runs); loadgen runs on the same machine.\n\n",
		mdBegin, command, r.Started.Format("2006-01-02 15:04 UTC"), r.Fixture, r.Codec, r.Mode, r.Machine, r.Cores)
	b.WriteString("| calls | set-ups/s | failed | fwd p50 / p99 / max ms | ret p50 / p99 / max ms | frames lost | markers lost | late | jitter ms | audio | CPU cores | CPU %/call | RSS MiB | KiB/call | load avg |\n")
	b.WriteString("|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range r.Steps {
		perCall := 0.0
		if s.Calls > 0 {
			perCall = 100 * s.CPU / float64(s.Calls)
		}
		fmt.Fprintf(&b, "| %d | %.0f | %d | %s / %s / %s | %s / %s / %s | %d of %d | %d of %d | %d | %s | %.0f%% | %.2f | %.3f | %.0f | %d | %.1f |\n",
			s.Calls, s.SetupRate, s.SetupsFailed, ms(s.Forward.P50), ms(s.Forward.P99), ms(s.Forward.Max),
			ms(s.Return.P50), ms(s.Return.P99), ms(s.Return.Max), s.FramesLost, s.FramesSent, s.MarkersLost, s.MarkersSent,
			s.FramesLate+s.MarkersLate, ms(s.JitterMean), 100*s.AudioMatch, s.CPU, perCall, float64(s.RSS)/(1<<20), s.RSSPerCall>>10, s.LoadAvg)
	}
	if r.Mode == "ramp" {
		fmt.Fprintf(&b, "\nCapacity within the thresholds: **%d calls**", r.Capacity)
		if r.StoppedBy != "" {
			fmt.Fprintf(&b, " (the ramp stopped: %s)", r.StoppedBy)
		}
		b.WriteString(".\n")
	}
	b.WriteString("\n" + mdEnd)
	text := string(old)
	i, j := strings.Index(text, mdBegin), strings.Index(text, mdEnd)
	if i >= 0 && j > i {
		text = text[:i] + b.String() + text[j+len(mdEnd):]
	} else {
		text = strings.TrimRight(text, "\n") + "\n\n## Load: `voxgate loadgen`\n\n" + b.String() + "\n"
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
