package validate

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// bidiControls are the Unicode bidirectional formatting characters: embedded in a name
// or a reason they make a terminal or a report show text in another order than it is
// stored ("Trojan Source").
func isBidiControl(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	}
	return false
}

// PlainText checks free text an operator gives (names, reasons): valid UTF-8 without
// control characters (which covers ANSI escape sequences, started by ESC) and without
// bidirectional overrides, so that it shows as it is stored in terminals, logs and
// reports. what names the field in the error.
func PlainText(what, s string) error {
	if !utf8.ValidString(s) {
		return Errorf("invalid %s: it is not valid UTF-8", what)
	}
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		return Errorf("invalid %s: it must not contain control characters or terminal escape sequences (found %U)", what, []rune(s[i:])[0])
	}
	if i := strings.IndexFunc(s, isBidiControl); i >= 0 {
		return Errorf("invalid %s: it must not contain bidirectional text controls (found %U)", what, []rune(s[i:])[0])
	}
	return nil
}
