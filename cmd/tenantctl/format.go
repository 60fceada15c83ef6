package main

import (
	"encoding/json"
	"strings"
)

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "{}" || string(b) == "null" {
		return "-"
	}
	return strings.ReplaceAll(string(b), "\t", " ")
}
