// Package validate holds tenantctl's input rules (slugs, names, domains, labels, SQL
// identifiers) and the invalid-input error that the CLI turns into exit status 2.
//
// It only inspects values; it never touches a database.
package validate

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// ErrInvalid marks an error caused by bad input: nothing was changed, and the command
// exits with status 2.
var ErrInvalid = errors.New("invalid input")

type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

// Errorf returns an error that satisfies errors.Is(err, ErrInvalid).
func Errorf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// Invalid wraps err so it satisfies errors.Is(err, ErrInvalid).
func Invalid(err error) error {
	if err == nil || errors.Is(err, ErrInvalid) {
		return err
	}
	return fmt.Errorf("%w%.0w", err, ErrInvalid)
}

var (
	slugRE       = regexp.MustCompile(`^[a-z][a-z0-9-]{1,38}[a-z0-9]$`)
	serverRE     = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,61}[a-z0-9]$|^[a-z]$`)
	labelRE      = regexp.MustCompile(`^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$`)
	labelValueRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$|^$`)
	dnsLabelRE   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	identRE      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]{0,62}$`)
	emailLocalRE = regexp.MustCompile(`^[A-Za-z0-9.!#$%&*+/=?^_{|}~-]{1,64}$`)
)

// Slug checks a tenant slug: 3–40 characters, lowercase letters, digits and hyphens,
// starting with a letter and not ending with a hyphen.
func Slug(s string) error {
	if !slugRE.MatchString(s) {
		return Errorf("invalid slug %q: use 3-40 characters a-z, 0-9 and '-', starting with a letter and not ending with '-'", s)
	}
	return nil
}

// DisplayName checks a tenant's display name: 1–200 characters of [PlainText].
func DisplayName(s string) error {
	n := utf8.RuneCountInString(s)
	if strings.TrimSpace(s) == "" || n > 200 {
		return Errorf("invalid display name: it must be 1-200 characters, got %d", n)
	}
	return PlainText("display name", s)
}

// Domain normalises (lowercases, drops one trailing dot) and checks an email domain: a
// DNS name of at least two labels, each 1–63 characters of a-z, 0-9 and '-', not
// starting or ending with '-', 253 characters at most, with a non-numeric last label.
func Domain(s string) (string, error) {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	if d == "" || len(d) > 253 {
		return "", Errorf("invalid domain %q: it must be a DNS name of at most 253 characters", s)
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", Errorf("invalid domain %q: it needs at least two labels, like example.com", s)
	}
	for _, l := range labels {
		if !dnsLabelRE.MatchString(l) {
			return "", Errorf("invalid domain %q: label %q must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'", s, l)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", Errorf("invalid domain %q: the last label must not be numeric", s)
	}
	return d, nil
}

// ContactEmail checks that email is an address under domain (or one of its subdomains)
// and returns it with the domain part lowercased.
func ContactEmail(email, domain string) (string, error) {
	at := strings.LastIndex(email, "@")
	if at <= 0 {
		return "", Errorf("invalid contact email %q: expected name@%s", email, domain)
	}
	local := email[:at]
	d, err := Domain(email[at+1:])
	if err != nil || !emailLocalRE.MatchString(local) || strings.Contains(local, "..") {
		return "", Errorf("invalid contact email %q: expected name@%s", email, domain)
	}
	if d != domain && !strings.HasSuffix(d, "."+domain) {
		return "", Errorf("contact email %q is not under the tenant's domain %s", email, domain)
	}
	return local + "@" + d, nil
}

// ServerName checks a server name: 1–63 characters a-z, 0-9, '-' and '_', starting with a
// letter.
func ServerName(s string) error {
	if !serverRE.MatchString(s) {
		return Errorf("invalid server name %q: use 1-63 characters a-z, 0-9, '-' and '_', starting with a letter", s)
	}
	return nil
}

// Labels parses k=v pairs into a map; keys are lowercase, values are short plain words.
func Labels(pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || !labelRE.MatchString(k) || !labelValueRE.MatchString(v) {
			return nil, Errorf("invalid label %q: use key=value, key of a-z, 0-9, '.', '_', '/', '-' and value of letters, digits, '.', '_', '-' (63 characters at most each)", p)
		}
		if _, dup := out[k]; dup {
			return nil, Errorf("label %q given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

// FormatLabels renders labels as sorted k=v pairs joined by commas.
func FormatLabels(labels map[string]string) string {
	parts := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}

// Identifier checks a SQL identifier taken from user input (a table or column name in a
// spec): a plain, unquoted-style name of at most 63 bytes. Callers still quote it.
func Identifier(s string) error {
	if !identRE.MatchString(s) {
		return Errorf("invalid SQL identifier %q: use letters, digits, '_' and '$', starting with a letter or '_', 63 bytes at most", s)
	}
	return nil
}
