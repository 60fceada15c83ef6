package catalog

import (
	"errors"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// ErrNotInitialized is returned by [Open] when the catalog database has no tenantctl
// schema yet.
var ErrNotInitialized = validate.Errorf("the catalog database has no tenantctl schema")

// ErrNoCatalog is returned when no catalog DSN is configured.
var ErrNoCatalog = validate.Errorf("no catalog configured")

// ErrServerExists is returned by [Store.AddServer] for a name already registered.
var ErrServerExists = errors.New("server already registered")

// ErrServerNotFound is returned when a server name is not registered.
var ErrServerNotFound = errors.New("server not found")

// ErrServerInUse is returned by [Store.RemoveServer] while tenants live on the server.
var ErrServerInUse = errors.New("server still holds tenants")

// ErrNoWarehouse is returned by [Store.WarehouseDSN] when no warehouse is registered.
var ErrNoWarehouse = errors.New("no warehouse registered")

// ErrTenantNotFound is returned when a slug names no live tenant.
var ErrTenantNotFound = errors.New("tenant not found")

// ErrTenantExists is returned when a slug or email domain is already taken by a tenant
// that is not purged.
var ErrTenantExists = errors.New("tenant already exists")

// takenError says which of a tenant's unique fields ("slug", "domain") was taken.
type takenError struct {
	field string
	err   error
}

func (e *takenError) Error() string { return e.err.Error() }
func (e *takenError) Unwrap() error { return e.err }

// Taken marks err (an [ErrTenantExists]) as caused by field, which [TakenField] reads
// back: the API names the field of a 409.
func Taken(field string, err error) error { return &takenError{field: field, err: err} }

// TakenField is the field a [Taken] error names, or "".
func TakenField(err error) string {
	var t *takenError
	if errors.As(err, &t) {
		return t.field
	}
	return ""
}
