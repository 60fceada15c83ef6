package provisioner

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// FuzzGrantOptions: an accepted login makes a role name that needs no quoting beyond
// the usual and fits PostgreSQL's 63 bytes; an accepted expiry is in the future; every
// refusal is invalid input.
func FuzzGrantOptions(f *testing.F) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, login, expires, level, reason string) {
		o := GrantOptions{Login: login, Slug: "acme", Level: level, Reason: reason, Expires: expires}
		exp, err := o.Validate(now)
		if err != nil {
			if !errors.Is(err, validate.ErrInvalid) {
				t.Fatalf("refusal is not invalid input: %v", err)
			}
			return
		}
		role := tenantdb.AccessRole(o.Login, "abcdefghij")
		if len(role) > 63 || validate.Identifier(role) != nil || strings.ToLower(role) != role {
			t.Fatalf("login %q makes an unsafe role name %q", login, role)
		}
		if exp != nil && !exp.After(now) {
			t.Fatalf("expiry %q accepted in the past: %v", expires, exp)
		}
		if exp == nil && expires != "never" {
			t.Fatalf("expiry %q accepted as never", expires)
		}
		if o.Level != "read" && o.Level != "write" {
			t.Fatalf("level %q accepted", level)
		}
	})
}
