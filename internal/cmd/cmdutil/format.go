package cmdutil

import (
	"encoding/json"
	"strings"
)

func Dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func CompactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "{}" || string(b) == "null" {
		return "-"
	}
	return strings.ReplaceAll(string(b), "\t", " ")
}

// OneLine keeps a table cell on one line.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
