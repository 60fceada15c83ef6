package console

import (
	"fmt"
	"html/template"
	"maps"
	"slices"
	"strings"
	"time"
)

// timeLayout is how every page shows a time: UTC, and says so.
const timeLayout = "2006-01-02 15:04 UTC"

// joinSorted renders m's entries in key order, each through pair, joined by sep.
func joinSorted[V any](m map[string]V, sep string, pair func(k string, v V) string) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, pair(k, m[k]))
	}
	return strings.Join(parts, sep)
}

var funcs = template.FuncMap{
	"when": func(v any) string {
		switch t := v.(type) {
		case time.Time:
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format(timeLayout)
		case *time.Time:
			if t == nil || t.IsZero() {
				return "—"
			}
			return t.UTC().Format(timeLayout)
		}
		return "—"
	},
	"count": func(v *int64) string {
		if v == nil {
			return "—"
		}
		return thousands(*v)
	},
	"num": func(v any) string {
		switch n := v.(type) {
		case int:
			return thousands(int64(n))
		case int64:
			return thousands(n)
		}
		return fmt.Sprint(v)
	},
	// pgversion shows server_version_num (150018) as PostgreSQL writes it (15.18).
	"pgversion": func(n int) string { return pgVersion(n) },
	"jobcounts": func(m map[string]int64) []jobCount {
		out := make([]jobCount, 0, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, jobCount{Name: strings.ReplaceAll(k, "_", " "), N: thousands(m[k])})
		}
		return out
	},
	"size": func(v *int64) string {
		if v == nil {
			return "—"
		}
		return humanBytes(*v)
	},
	"version": func(v *int64) string {
		if v == nil {
			return "—"
		}
		return fmt.Sprint(*v)
	},
	"dur": func(d time.Duration) string {
		if d <= 0 {
			return "—"
		}
		return d.Round(time.Millisecond).String()
	},
	"jobdur": func(start time.Time, end *time.Time) string {
		if end == nil {
			return "running"
		}
		return end.Sub(start).Round(time.Millisecond).String()
	},
	"labels": func(m map[string]string) string {
		if len(m) == 0 {
			return "—"
		}
		return joinSorted(m, ", ", func(k, v string) string { return k + "=" + v })
	},
	"details": func(m map[string]any) string {
		if len(m) == 0 {
			return ""
		}
		return joinSorted(m, " ", func(k string, v any) string { return fmt.Sprintf("%s=%v", k, v) })
	},
	"counts": func(m map[string]int64) string {
		return joinSorted(m, ", ", func(k string, n int64) string { return fmt.Sprintf("%s %d", k, n) })
	},
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:12] + "…"
		}
		return s
	},
	"eq2": func(a, b string) bool { return a == b },
}

type jobCount struct{ Name, N string }

// thousands writes n with thin-space-free comma grouping: 12,345.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// pgVersion renders a server_version_num: 150018 is 15.18, 90624 is 9.6.24.
func pgVersion(n int) string {
	if n <= 0 {
		return "—"
	}
	if n >= 100000 {
		return fmt.Sprintf("%d.%d", n/10000, n%10000)
	}
	return fmt.Sprintf("%d.%d.%d", n/10000, n/100%100, n%100)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
