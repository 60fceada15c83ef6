package provisioner

import "errors"

// ErrBusy is returned when another tenantctl process is changing the same tenant.
var ErrBusy = errors.New("another tenantctl process is changing this tenant right now; try again when it is done")

// ErrNoServerFits is returned by placement when no registered server can take the tenant.
var ErrNoServerFits = errors.New("no server can take the tenant")

// ErrWrongState is returned when a lifecycle operation does not apply to the tenant's
// current state.
var ErrWrongState = errors.New("operation not allowed in the tenant's current state")
