package jsonw

import (
	"encoding/json"
	"testing"
	"time"
)

func TestStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quo"te`, `back\slash`, "<b>&amp;</b>", "tab\there", "new\nline",
		"ünïcödé", "\u2028\u2029", "bad \xff utf8", "\x00\x1f\x7f"} {
		want, _ := json.Marshal(s)
		if got := String(nil, s); string(got) != string(want) {
			t.Errorf("String(%q) = %s, encoding/json gives %s", s, got, want)
		}
	}
}

func TestTimeMatchesEncodingJSON(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	for _, tm := range []time.Time{
		time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 30, 12, 0, 0, 123456000, berlin),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
	} {
		want, _ := json.Marshal(tm)
		if got := Time(nil, tm); string(got) != string(want) {
			t.Errorf("Time(%v) = %s, encoding/json gives %s", tm, got, want)
		}
	}
}
