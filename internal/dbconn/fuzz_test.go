package dbconn

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// FuzzParseConfig: a DSN that cannot be parsed is invalid input, and no error ever
// shows its password; a parsed one always has a bounded connect timeout and every
// session default.
func FuzzParseConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, dsn, password string) {
		if len(password) >= 8 && !strings.ContainsAny(password, "@/:?#%[] ") {
			dsn = strings.Replace(dsn, "PASSWORD", url.PathEscape(password), 1)
		}
		cfg, err := ParseConfig(dsn)
		if err != nil {
			if !errors.Is(err, validate.ErrInvalid) {
				t.Fatalf("refusal is not invalid input: %v", err)
			}
			if len(password) >= 8 && strings.Contains(dsn, url.PathEscape(password)) && strings.Contains(err.Error(), password) {
				t.Fatalf("error shows the password: %v", err)
			}
			return
		}
		if cfg.ConnectTimeout <= 0 {
			t.Fatalf("no connect timeout for %q", dsn)
		}
		for _, k := range ClientParams {
			if _, ok := cfg.RuntimeParams[k]; ok {
				t.Fatalf("tenantctl's own parameter %s would be sent to the server for %q", k, dsn)
			}
		}
		if cfg.DialFunc == nil || cfg.Tracer == nil {
			t.Fatalf("connections of %q are not watched", dsn)
		}
		for k := range Defaults {
			if _, ok := cfg.RuntimeParams[k]; !ok {
				t.Fatalf("session default %s missing for %q", k, dsn)
			}
		}
	})
}
