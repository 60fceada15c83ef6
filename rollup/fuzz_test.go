package rollup

import (
	"errors"
	"testing"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// FuzzParseSpec: any bytes are either a spec whose every name is a plain identifier, or
// invalid input; never a panic.
func FuzzParseSpec(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSpec(b)
		if err != nil {
			if !errors.Is(err, validate.ErrInvalid) {
				t.Fatalf("refusal is not invalid input: %v", err)
			}
			return
		}
		for _, tb := range s.Tables {
			if validate.Identifier(tb.Relname()) != nil || validate.Identifier(tb.Schema()) != nil {
				t.Fatalf("accepted unsafe table %q", tb.Name)
			}
			for _, k := range tb.Key {
				if validate.Identifier(k) != nil {
					t.Fatalf("accepted unsafe key %q", k)
				}
			}
			if tb.Mode != ModeIncremental && tb.Mode != ModeFull {
				t.Fatalf("accepted mode %q", tb.Mode)
			}
		}
	})
}
