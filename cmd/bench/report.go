package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// measurement is one timed thing.
type measurement struct {
	Section string  `json:"section"`
	Name    string  `json:"name"`
	Ops     int     `json:"ops"`
	Conc    int     `json:"concurrency,omitempty"`
	TotalMS float64 `json:"total_ms"`
	P50MS   float64 `json:"p50_ms,omitempty"`
	P95MS   float64 `json:"p95_ms,omitempty"`
	// PerOpMS is total / ops (for fleet operations: per tenant).
	PerOpMS    float64 `json:"per_op_ms,omitempty"`
	RowsPerSec float64 `json:"rows_per_sec,omitempty"`
	PeakConns  int     `json:"peak_connections,omitempty"`
	PeakRSSKiB int64   `json:"peak_rss_kib,omitempty"`
	Note       string  `json:"note,omitempty"`
}

// comparison is tenantctl against its raw baseline, measured in the same run.
type comparison struct {
	Name   string  `json:"name"`
	Ours   string  `json:"tenantctl"`
	Raw    string  `json:"baseline"`
	Ratio  float64 `json:"ratio"` // tenantctl time / baseline time (throughput: baseline / tenantctl inverted, see Unit)
	Unit   string  `json:"unit"`
	Target string  `json:"target"`
	Met    bool    `json:"met"`
	// Range is the lowest and highest ratio of the rounds, when the pair was measured
	// more than once.
	Range []float64 `json:"range,omitempty"`
}

type report struct {
	Sizes        sizes            `json:"sizes"`
	Started      time.Time        `json:"started"`
	Finished     time.Time        `json:"finished"`
	Machine      machineInfo      `json:"machine"`
	MachineAfter machineInfo      `json:"machine_after"`
	Comparisons  []comparison     `json:"comparisons"`
	Measurements []measurement    `json:"measurements"`
	PeakRSS      map[string]int64 `json:"peak_rss_kib_by_command"`
	Errors       []string         `json:"errors,omitempty"`
	Notes        []string         `json:"notes,omitempty"`
	// RoleRows is the "roles" section: a new session's cost per role and fleet size.
	RoleRows []roleRow `json:"role_rows,omitempty"`
	// FlatRows is the "flatness" section: time per tenant of each fleet operation by
	// tenants on the server.
	FlatRows []flatRow `json:"flat_rows,omitempty"`
}

func (r *report) add(m measurement) measurement {
	r.Measurements = append(r.Measurements, m)
	return m
}

// compare records ours/raw (times: lower is better) against a maximum ratio.
func (r *report) compare(name string, ours, raw measurement, field func(measurement) float64, limit float64, target string) {
	o, b := field(ours), field(raw)
	c := comparison{Name: name, Ours: ours.Name, Raw: raw.Name, Unit: "time ratio", Target: target}
	if b > 0 {
		c.Ratio = o / b
		c.Met = c.Ratio <= limit
	}
	r.Comparisons = append(r.Comparisons, c)
}

// compareThroughput records ours/raw throughput (higher is better) against a minimum.
func (r *report) compareThroughput(name string, ours, raw measurement, limit float64, target string) {
	c := comparison{Name: name, Ours: ours.Name, Raw: raw.Name, Unit: "throughput ratio", Target: target}
	if raw.RowsPerSec > 0 {
		c.Ratio = ours.RowsPerSec / raw.RowsPerSec
		c.Met = c.Ratio >= limit
	}
	r.Comparisons = append(r.Comparisons, c)
}

// compareRounds records contenders measured in alternating rounds (their measurements
// are added by the caller): the ratio of the best of each (the least disturbed by other load on the
// machine) against limit, and the range of the rounds' ratios. throughput compares
// rows/s (higher is better, the ratio is ours/raw and must reach limit); otherwise
// total time (the ratio must stay under limit).
func (r *report) compareRounds(name string, ours, raw []measurement, limit float64, target string, throughput bool) {
	if len(ours) == 0 || len(raw) == 0 {
		return
	}
	value := func(m measurement) float64 { return m.TotalMS }
	if throughput {
		value = func(m measurement) float64 { return -m.RowsPerSec }
	}
	best := func(ms []measurement) measurement {
		b := ms[0]
		for _, m := range ms[1:] {
			if value(m) < value(b) {
				b = m
			}
		}
		return b
	}
	ratio := func(o, b measurement) float64 {
		if throughput {
			return o.RowsPerSec / b.RowsPerSec
		}
		return o.TotalMS / b.TotalMS
	}
	if throughput {
		r.compareThroughput(name, best(ours), best(raw), limit, target)
	} else {
		r.compare(name, best(ours), best(raw), total, limit, target)
	}
	c := &r.Comparisons[len(r.Comparisons)-1]
	for i := range min(len(ours), len(raw)) {
		v := ratio(ours[i], raw[i])
		if len(c.Range) == 0 {
			c.Range = []float64{v, v}
		}
		c.Range[0], c.Range[1] = min(c.Range[0], v), max(c.Range[1], v)
	}
}

// absolute records a target with no baseline (e.g. < 100 ms).
func (r *report) absolute(name string, m measurement, value float64, limit float64, target string) {
	r.Comparisons = append(r.Comparisons, comparison{Name: name, Ours: m.Name, Raw: "-", Ratio: value, Unit: "ms", Target: target, Met: value <= limit})
}

func p50(m measurement) float64   { return m.P50MS }
func total(m measurement) float64 { return m.TotalMS }

func (r *report) write(dir string) (md, js string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	stamp := r.Started.Format("2006-01-02T1504Z")
	js = filepath.Join(dir, stamp+".json")
	md = filepath.Join(dir, stamp+".md")
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(js, append(b, '\n'), 0o644); err != nil {
		return "", "", err
	}
	return md, js, os.WriteFile(md, []byte(r.markdown()), 0o644)
}

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# tenantctl benchmark, %s\n\n", r.Started.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Sizes: %d tenants in the fleet sections, %d creates per provisioning mode, %d rows in the first rollup copy, %d catalog rows. ",
		r.Sizes.Tenants, r.Sizes.Creates, r.Sizes.Rows, r.Sizes.CatalogRows)
	fmt.Fprintf(&b, "Machine: %d CPUs, %s; load average at start %s, at end %s. ", r.Machine.CPUs, r.Machine.GOOS, r.Machine.LoadAvg, r.MachineAfter.LoadAvg)
	fmt.Fprintf(&b, "Run took %s. Every ratio compares two figures measured in this run, one after the other, on the same clusters; absolute figures depend on what else the machine was doing.\n\n",
		r.Finished.Sub(r.Started).Round(time.Second))
	b.WriteString("## Ratios against the raw baselines\n\n| comparison | tenantctl | baseline | ratio | target | met |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, c := range r.Comparisons {
		met := "yes"
		if !c.Met {
			met = "**no**"
		}
		ratio := fmt.Sprintf("%.2f×", c.Ratio)
		if c.Unit == "ms" {
			ratio = fmt.Sprintf("%.0f ms", c.Ratio)
			if c.Ratio < 100 {
				ratio = fmt.Sprintf("%.1f ms", c.Ratio)
			}
		}
		if len(c.Range) == 2 {
			ratio += fmt.Sprintf(" (rounds %.2f–%.2f×)", c.Range[0], c.Range[1])
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", c.Name, c.Ours, c.Raw, ratio, c.Target, met)
	}
	b.WriteString("\n## Measurements\n\n| section | what | ops | conc | total | p50 | p95 | per op | rows/s | peak conns (server) | peak RSS |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, m := range r.Measurements {
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %.0f ms | %s | %s | %s | %s | %s | %s |\n", m.Section, m.Name, m.Ops, dash(m.Conc),
			m.TotalMS, msOrDash(m.P50MS), msOrDash(m.P95MS), msOrDash(m.PerOpMS), rowsOrDash(m.RowsPerSec), dash(m.PeakConns), kib(m.PeakRSSKiB))
	}
	if len(r.RoleRows) > 0 {
		b.WriteString("\n## Connection + first query on a tenant table, per role (p50)\n\n| layout | tenants on the server | role | p50 | superuser p50 | ratio |\n| --- | --- | --- | --- | --- | --- |\n")
		for _, rr := range r.RoleRows {
			fmt.Fprintf(&b, "| %s | %d | %s | %.1f ms | %.1f ms | %.2f× |\n", rr.Layout, rr.Tenants, rr.Role, rr.P50MS, rr.SuperP50MS, rr.Ratio)
		}
	}
	if len(r.FlatRows) > 0 {
		b.WriteString("\n## Flatness: time per tenant by tenants on the server (target: within ±20%)\n\n| operation |")
		for _, n := range r.FlatRows[0].Tenants {
			fmt.Fprintf(&b, " %d tenants |", n)
		}
		b.WriteString(" ratio | flat |\n| --- |")
		for range r.FlatRows[0].Tenants {
			b.WriteString(" --- |")
		}
		b.WriteString(" --- | --- |\n")
		for _, fr := range r.FlatRows {
			fmt.Fprintf(&b, "| %s |", fr.Operation)
			for _, v := range fr.PerTenantMS {
				fmt.Fprintf(&b, " %.1f ms |", v)
			}
			flat := "yes"
			if !fr.Flat {
				flat = "**no**"
			}
			fmt.Fprintf(&b, " %.2f× | %s |\n", fr.Ratio, flat)
		}
	}
	b.WriteString("\n## Peak RSS per command\n\n| command | peak RSS |\n| --- | --- |\n")
	names := make([]string, 0, len(r.PeakRSS))
	for n := range r.PeakRSS {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "| %s | %s |\n", n, kib(r.PeakRSS[n]))
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	if len(r.Errors) > 0 {
		b.WriteString("\n## Errors\n\n")
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(e, "\n", " "))
		}
	}
	return b.String()
}

func dash(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func msOrDash(v float64) string {
	if v == 0 {
		return "-"
	}
	if v < 10 {
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

func rowsOrDash(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fk", v/1000)
}

func kib(v int64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(v)/1024)
}
