package rollout

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
)

// ErrCanaryFailed is the [PartialError.Reason] when a tenant of the canary wave failed,
// so the rest of the fleet was not started.
var ErrCanaryFailed = errors.New("the canary wave failed, so the rest of the fleet was not started")

// ErrMaxFailures is the [PartialError.Reason] when the run stopped starting new tenants
// after the allowed number of failures.
var ErrMaxFailures = errors.New("the maximum number of failures was reached, so no further tenant was started")

// ErrBusy is returned by [Run] when another fleet migration holds the catalog's fleet
// lock.
var ErrBusy = errors.New("another fleet migration is running against this catalog; wait for it to finish")

// ErrFleetDown is returned by [Down] when no tenant is named: rolling back the whole
// fleet at once is refused.
var ErrFleetDown = validate.Errorf("migrate down works on one tenant at a time: name the tenant (rolling back the whole fleet is refused)")

// PartialError is returned by [Run] when some tenants failed or were not started.
// Tenants in Succeeded reached the latest version; Reason is [ErrCanaryFailed],
// [ErrMaxFailures], a context error, or nil when every planned tenant was tried. Every
// tenant's outcome is also recorded in the catalog, so a rerun picks up exactly what is
// left.
type PartialError = fleet.PartialError

// Change kinds reported by [ChangedError].
const (
	// ChangeModified: the file of an applied version differs from the one applied.
	ChangeModified = "modified"
	// ChangeRemoved: an applied version has no file in the migration set any more.
	ChangeRemoved = "removed"
	// ChangeOutOfOrder: a new file's version is below versions already applied; goose
	// applies in order and would refuse it on every tenant.
	ChangeOutOfOrder = "out-of-order"
)

// Change is a difference between the migration set and what the fleet was migrated with.
type Change struct {
	Kind       string    `json:"kind"`
	Version    int64     `json:"version"`
	File       string    `json:"file,omitempty"`
	Recorded   string    `json:"recorded_file,omitempty"`
	RecordedAt time.Time `json:"recorded_at,omitzero"`
}

func (c Change) String() string {
	switch c.Kind {
	case ChangeModified:
		return fmt.Sprintf("%s (version %d) was changed after it was applied (recorded %s)", c.File, c.Version, c.RecordedAt.UTC().Format(time.DateTime))
	case ChangeRemoved:
		return fmt.Sprintf("%s (version %d) was applied but is missing from the migration set", c.Recorded, c.Version)
	default:
		return fmt.Sprintf("%s (version %d) is new but older than versions already applied", c.File, c.Version)
	}
}

// ChangedError is returned when the migration set differs from what the fleet was
// migrated with: goose never re-runs an applied version, so an edit would silently never
// reach the tenants that already ran it. It is invalid input (nothing was changed).
type ChangedError struct {
	Changes []Change
}

func (e *ChangedError) Error() string { return e.Render("set AllowChanged") }

// Render is the message with accept saying how the operator accepts the files as they
// are (the CLI names its flag).
func (e *ChangedError) Render(accept string) string {
	parts := make([]string, len(e.Changes))
	fix := "restore the applied files and put the change in a new migration with a higher version, " +
		"or " + accept + " to accept the files as they are now"
	for i, c := range e.Changes {
		parts[i] = c.String()
		if c.Kind == ChangeOutOfOrder {
			fix = "give new migrations a version above every applied one (rename the file)"
		}
	}
	return "tenant migrations differ from what the fleet was migrated with: " + strings.Join(parts, "; ") + ": " + fix
}

// Is makes a ChangedError invalid input (exit status 2).
func (e *ChangedError) Is(target error) bool { return target == validate.ErrInvalid }
