package mover

import (
	"errors"
	"fmt"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// ErrNoClient is returned when pg_dump or pg_restore cannot be found.
var ErrNoClient = errors.New("PostgreSQL client programs not found: install the PostgreSQL client package " +
	"(Debian/Ubuntu: apt-get install postgresql-client), or set TENANTCTL_PG_BINDIR to the directory holding pg_dump and pg_restore")

// ErrVerify is returned by [Mover.Move] when the target's rows differ from the source's.
var ErrVerify = errors.New("the copy differs from the source")

// ErrLogicalUnsupported is returned by [Mover.Move] with method logical where the servers
// do not allow it.
var ErrLogicalUnsupported = errors.New("method logical requires PostgreSQL 16+ with pg_create_subscription or a superuser admin on both servers")

// ErrNotDump is returned by [Mover.Import] for a file that is not a pg_dump archive.
var ErrNotDump = errors.New("not a pg_dump custom-format archive")

// ErrForbiddenContent is returned by [Mover.Import] for a dump carrying objects the audit
// forbids in a tenant database.
var ErrForbiddenContent = errors.New("the dump carries objects a tenant database may not hold")

// ErrNoVersion is returned by [Mover.Import] when the dump has no goose version table.
var ErrNoVersion = errors.New("the dump has no goose_db_version table, so its schema version is unknown")

// ErrSameServer is returned by [Mover.Move] when the target is the tenant's server.
var ErrSameServer = errors.New("the tenant is already on that server")

// InterruptedMoveError is returned by [Mover.Move] when the tenant has an interrupted
// move to another target than the one asked for.
type InterruptedMoveError struct {
	Slug, Target, Step string
}

func (e *InterruptedMoveError) Error() string {
	return "tenant \"" + e.Slug + "\" has an interrupted move to " + e.Target + " (after step " + e.Step +
		"): move it to " + e.Target + " again to finish it, or roll it back"
}

// GrantsHeldError is returned by [Mover.Move] for a tenant with MSP access grants, whose
// roles live on its current server: they must be revoked first. It is invalid input
// (nothing was changed).
type GrantsHeldError struct {
	Slug   string
	Grants int
}

func (e *GrantsHeldError) Error() string {
	return fmt.Sprintf("tenant %q has %d MSP access grants, whose roles live on its current server: revoke them first", e.Slug, e.Grants)
}

// Is makes a GrantsHeldError invalid input.
func (e *GrantsHeldError) Is(target error) bool { return target == validate.ErrInvalid }
