package validate

import (
	"fmt"
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
	if p := plainTextProblem(s); p != "" {
		return Errorf("invalid %s: it %s", what, p)
	}
	return nil
}

// FreeText checks free text given by an operator for an option field (a reason, a
// note): at most limit characters and [PlainText]'s rules. The error is a *FieldError
// for the field, so the CLI names its flag and the API its field.
func FreeText(field, s string, limit int) error {
	if n := utf8.RuneCountInString(s); n > limit {
		return &FieldError{Field: field, Reason: fmt.Sprintf("is limited to %d characters", limit)}
	}
	if p := plainTextProblem(s); p != "" {
		return &FieldError{Field: field, Reason: p}
	}
	return nil
}

// plainTextProblem says what breaks [PlainText]'s rules in s, or "" when nothing does.
// Other format characters (zero-width joiners) stay allowed: emoji sequences use them.
func plainTextProblem(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		return fmt.Sprintf("must not contain control characters or terminal escape sequences (found %U)", []rune(s[i:])[0])
	}
	if i := strings.IndexFunc(s, isBidiControl); i >= 0 {
		return fmt.Sprintf("must not contain bidirectional text controls (found %U)", []rune(s[i:])[0])
	}
	return ""
}
