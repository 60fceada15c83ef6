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
