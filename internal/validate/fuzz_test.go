package validate

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// Every accepted value is safe to put in an identifier, a file name or a log line: plain
// ASCII, no quote, backslash, NUL, control byte, whitespace or path separator beyond
// what the rule allows; every refusal is invalid input (exit 2), never a panic.

func plainASCII(s, extra string) bool {
	for _, r := range s {
		lower, digit := r >= 'a' && r <= 'z', r >= '0' && r <= '9'
		if r > unicode.MaxASCII || !lower && !digit && !strings.ContainsRune(extra, r) {
			return false
		}
	}
	return true
}

func FuzzSlug(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		err := Slug(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refusal of %q is not invalid input: %v", s, err)
			}
			return
		}
		if len(s) < 3 || len(s) > 40 || !plainASCII(s, "-") || s[0] < 'a' || s[0] > 'z' || strings.HasSuffix(s, "-") {
			t.Fatalf("accepted unsafe slug %q", s)
		}
	})
}

func FuzzDomain(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Domain(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refusal of %q is not invalid input: %v", s, err)
			}
			return
		}
		if len(d) > 253 || !plainASCII(d, "-.") || !strings.Contains(d, ".") || strings.Contains(d, "..") {
			t.Fatalf("accepted unsafe domain %q from %q", d, s)
		}
		if again, err := Domain(d); err != nil || again != d {
			t.Fatalf("normalising %q is not idempotent: %q, %v", d, again, err)
		}
	})
}

func FuzzContactEmail(f *testing.F) {
	f.Fuzz(func(t *testing.T, email, domain string) {
		d, err := Domain(domain)
		if err != nil {
			return
		}
		e, err := ContactEmail(email, d)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refusal of %q is not invalid input: %v", email, err)
			}
			return
		}
		at := strings.LastIndex(e, "@")
		if at <= 0 || strings.ContainsAny(e, "'\"\\ \t\r\n\x00<>()[],;:") || !utf8.ValidString(e) ||
			(e[at+1:] != d && !strings.HasSuffix(e[at+1:], "."+d)) {
			t.Fatalf("accepted unsafe contact email %q for %q", e, d)
		}
	})
}

func FuzzLabels(f *testing.F) {
	f.Fuzz(func(t *testing.T, a, b string) {
		m, err := Labels([]string{a, b})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refusal is not invalid input: %v", err)
			}
			return
		}
		for k, v := range m {
			if !plainASCII(k, "._/-") || len(k) > 63 || len(v) > 63 || strings.ContainsAny(v, "'\"\\ =,\x00/") {
				t.Fatalf("accepted unsafe label %q=%q", k, v)
			}
		}
		if again, err := Labels(strings.Split(FormatLabels(m), ",")); err != nil || len(again) != len(m) {
			t.Fatalf("labels %v do not round-trip: %v", m, err)
		}
	})
}

func FuzzDisplayName(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		if err := DisplayName(s); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refusal is not invalid input: %v", err)
			}
			return
		}
		if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 || utf8.RuneCountInString(s) > 200 {
			t.Fatalf("accepted unsafe display name %q", s)
		}
	})
}

func FuzzIdentifier(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		if err := Identifier(s); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refusal is not invalid input: %v", err)
			}
			return
		}
		if len(s) > 63 || s == "" || strings.ContainsAny(s, "\"'\\ .;\x00-") {
			t.Fatalf("accepted unsafe identifier %q", s)
		}
	})
}
