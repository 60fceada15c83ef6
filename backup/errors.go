package backup

import (
	"errors"
	"fmt"
	"time"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// ErrNoPgBackRest is returned when the pgbackrest program cannot be found.
var ErrNoPgBackRest = errors.New("pgbackrest not found: install it (Debian/Ubuntu: apt-get install pgbackrest) " +
	"or set TENANTCTL_PGBACKREST to its path")

// ErrNoBackups is returned by [List] and [RestoreScratch] for a server whose repository
// holds no backup yet.
var ErrNoBackups = errors.New("the server's repository holds no backup yet")

// ErrOutsideWindow is the error an [OutsideWindowError] matches.
var ErrOutsideWindow = errors.New("the time is outside the restorable window")

// OutsideWindowError is returned for a restore time the server's backups cannot reach,
// or one before the tenant existed. It names the window.
type OutsideWindowError struct {
	Time   time.Time
	Window Window
	// Created is set when the tenant did not exist yet at Time.
	Created *time.Time
	// Tenant, when set, is the tenant's own window within the server's: from the end
	// of the first backup that holds its database (nil with NotBackedUp).
	Tenant *Window
	// NotBackedUp is set when no backup holds the tenant's database yet.
	NotBackedUp bool
}

func (e *OutsideWindowError) Error() string {
	w := fmt.Sprintf("the restorable window of server %s is %s to %s", e.Window.Server,
		e.Window.From.UTC().Format(time.RFC3339), e.Window.To.UTC().Format(time.RFC3339))
	if e.Created != nil {
		return fmt.Sprintf("%s is before the tenant existed (created %s); %s", e.Time.UTC().Format(time.RFC3339),
			e.Created.UTC().Format(time.RFC3339), w)
	}
	if e.NotBackedUp {
		return fmt.Sprintf("%s: no backup holds the tenant's database yet (run 'tenantctl backup run --server %s'); %s",
			e.Time.UTC().Format(time.RFC3339Nano), e.Window.Server, w)
	}
	if e.Tenant != nil {
		return fmt.Sprintf("%s is before the first backup that holds the tenant's database: the tenant can be restored to %s to %s; %s",
			e.Time.UTC().Format(time.RFC3339Nano), e.Tenant.From.UTC().Format(time.RFC3339), e.Tenant.To.UTC().Format(time.RFC3339), w)
	}
	return fmt.Sprintf("%s is outside the restorable window: %s", e.Time.UTC().Format(time.RFC3339Nano), w)
}

// Is makes an OutsideWindowError match [ErrOutsideWindow] and validate.ErrInvalid (bad
// input: nothing was changed).
func (e *OutsideWindowError) Is(target error) bool {
	return target == ErrOutsideWindow || target == validate.ErrInvalid
}

// CommandError is a pgbackrest command that failed, with the end of its output.
type CommandError struct {
	Args   []string
	Err    error
	Output string
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("pgbackrest %v: %v: %s", e.Args, e.Err, e.Output)
}

func (e *CommandError) Unwrap() error { return e.Err }
