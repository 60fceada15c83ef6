package cmdutil

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Dash is s, or "-" when it is empty.
func Dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// CompactJSON is v as one line of JSON, or "-" when it is empty.
func CompactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "{}" || string(b) == "null" {
		return "-"
	}
	return strings.ReplaceAll(string(b), "\t", " ")
}

// OneLine keeps a table cell on one line.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// HumanBytes renders a size in bytes for people (KiB, MiB, GiB).
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
