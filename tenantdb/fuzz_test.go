package tenantdb

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzQuote: a quoted literal or identifier always reads back as exactly the input, so
// no input can end the quoted token early; literals refuse backslashes, NUL and invalid
// UTF-8 (which would read back as U+FFFD: testdata/fuzz/FuzzQuote/afa8d480113ac2e5,
// found by this target).
func FuzzQuote(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		if lit, err := literal(s); err == nil {
			if strings.ContainsAny(s, "\\\x00") || !utf8.ValidString(s) {
				t.Fatalf("literal accepted %q", s)
			}
			if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
				t.Fatalf("literal %q of %q is not quoted", lit, s)
			}
			inner := lit[1 : len(lit)-1]
			if strings.ReplaceAll(strings.ReplaceAll(inner, "''", ""), "'", "X") != strings.ReplaceAll(inner, "''", "") {
				t.Fatalf("literal %q of %q has an unpaired quote", lit, s)
			}
			if strings.ReplaceAll(inner, "''", "'") != s {
				t.Fatalf("literal %q does not read back as %q", lit, s)
			}
		} else if !strings.ContainsAny(s, "\\\x00") && utf8.ValidString(s) {
			t.Fatalf("literal refused %q: %v", s, err)
		}
		id := ident(s)
		if len(id) < 2 || id[0] != '"' || id[len(id)-1] != '"' {
			t.Fatalf("identifier %q of %q is not quoted", id, s)
		}
		inner := id[1 : len(id)-1]
		if strings.Contains(strings.ReplaceAll(inner, `""`, ""), `"`) || strings.ContainsRune(inner, 0) {
			t.Fatalf("identifier %q of %q can end early", id, s)
		}
		if strings.ReplaceAll(inner, `""`, `"`) != strings.ReplaceAll(s, "\x00", "") {
			t.Fatalf("identifier %q does not read back as %q", id, s)
		}
	})
}
