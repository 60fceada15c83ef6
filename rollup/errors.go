package rollup

import (
	"errors"
	"fmt"
	"github.com/tenantctl/tenantctl/fleet"
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
// failed kept its previous warehouse rows and watermark. errors.Is finds, say,
// [ErrSchema] in any tenant's error.
type PartialError = fleet.PartialError
