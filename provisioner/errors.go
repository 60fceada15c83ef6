package provisioner

import (
	"errors"
	"fmt"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// ErrBusy is returned when another tenantctl process is changing the same tenant.
var ErrBusy = errors.New("another tenantctl process is changing this tenant right now; try again when it is done")

// ErrNoServerFits is returned by placement when no registered server can take the tenant.
var ErrNoServerFits = errors.New("no server can take the tenant")

// ErrWrongState is returned when a lifecycle operation does not apply to the tenant's
// current state.
var ErrWrongState = errors.New("operation not allowed in the tenant's current state")

// ErrNotConfirmed is matched (errors.Is) by the [*ConfirmError] a destructive operation
// returns when the tenant was not named a second time.
var ErrNotConfirmed = errors.New("not confirmed")

// ConfirmError refuses a destructive operation on a tenant that was not confirmed by
// giving its slug again. It is invalid input (nothing was changed).
type ConfirmError struct {
	// Action is what was refused: delete or purge.
	Action string
	Slug   string
}

func (e *ConfirmError) Error() string {
	return fmt.Sprintf("refusing to %s %q: confirm it by giving the slug again", e.Action, e.Slug)
}

// Is makes a ConfirmError match [ErrNotConfirmed] and invalid input.
func (e *ConfirmError) Is(target error) bool {
	return target == ErrNotConfirmed || target == validate.ErrInvalid
}

// Confirm returns a [*ConfirmError] unless confirm repeats slug. Every destructive
// operation checks it before touching anything; callers that want to refuse before
// opening the catalog call it too.
func Confirm(action, slug, confirm string) error {
	if confirm != slug {
		return &ConfirmError{Action: action, Slug: slug}
	}
	return nil
}

// DrainingError refuses to place a tenant on a server that is draining. It is invalid
// input (nothing was changed).
type DrainingError struct {
	Server string
}

func (e *DrainingError) Error() string {
	return fmt.Sprintf("server %q is draining and takes no new tenants", e.Server)
}

// Is makes a DrainingError invalid input.
func (e *DrainingError) Is(target error) bool { return target == validate.ErrInvalid }

// NoServerFitsError is [ErrNoServerFits] with the count of servers and why each was
// passed over. It is invalid input (nothing was changed).
type NoServerFitsError struct {
	Servers, Draining, Full, Mismatched int
	// Labels are the labels asked for, formatted.
	Labels string
}

func (e *NoServerFitsError) Error() string {
	return fmt.Sprintf("%v: %d servers registered, %d draining, %d full, %d without labels %s",
		ErrNoServerFits, e.Servers, e.Draining, e.Full, e.Mismatched, e.Labels)
}

// Is makes a NoServerFitsError match [ErrNoServerFits] and invalid input.
func (e *NoServerFitsError) Is(target error) bool {
	return target == ErrNoServerFits || target == validate.ErrInvalid
}

// UnfinishedError wraps a failure that left an operation half done: reconcile finishes
// or undoes it, and when Rerun is set running the same operation again retries it.
type UnfinishedError struct {
	Err error
	// Rerun says the same operation, run again, picks up where this one stopped.
	Rerun bool
}

func (e *UnfinishedError) Error() string { return e.Err.Error() }

// Unwrap returns the failure.
func (e *UnfinishedError) Unwrap() error { return e.Err }
