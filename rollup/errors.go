package rollup

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrNotRollable is returned by [Targets] and [Run] for a tenant named with
// Options.Tenant that is not active or suspended (only those have a database to read).
var ErrNotRollable = errors.New("tenant is not active or suspended")

// ErrSchema marks a tenant whose tables do not fit the spec or the warehouse: a table or
// key column missing from the tenant database, a column whose type differs from the
// warehouse's, a warehouse table with another primary key. The tenant's rows are not
// copied until its schema, the spec or the warehouse is fixed; other tenants go on.
var ErrSchema = errors.New("schema does not fit the rollup")

// schemaErrorf returns an error wrapping [ErrSchema].
func schemaErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSchema, fmt.Sprintf(format, args...))
}

// PartialError is returned by [Run] when some tenants failed: which succeeded, which
// failed and why. Every tenant that succeeded is fully rolled up; every tenant that
// failed kept its previous warehouse rows and watermark.
type PartialError struct {
	// Succeeded lists the slugs of the tenants rolled up.
	Succeeded []string
	// Failed maps the slug of each failed tenant to its error.
	Failed map[string]error
}

func (e *PartialError) Error() string {
	slugs := make([]string, 0, len(e.Failed))
	for s := range e.Failed {
		slugs = append(slugs, s)
	}
	sort.Strings(slugs)
	parts := make([]string, 0, len(slugs))
	for _, s := range slugs {
		parts = append(parts, s+": "+e.Failed[s].Error())
	}
	return fmt.Sprintf("rollup failed for %d of %d tenants: %s",
		len(e.Failed), len(e.Failed)+len(e.Succeeded), strings.Join(parts, "; "))
}

// Unwrap returns the tenants' errors, so errors.Is finds, say, [ErrSchema] in any.
func (e *PartialError) Unwrap() []error {
	out := make([]error, 0, len(e.Failed))
	for _, err := range e.Failed {
		out = append(out, err)
	}
	return out
}
