package rollout

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantctl/tenantctl/internal/pglock"
)

// fleetLock takes the catalog's fleet-migration lock (a session advisory lock held on a
// dedicated catalog connection), so two fleet runs — an operator's and the scheduler's —
// never overlap. It returns [ErrBusy] at once when another run holds it. A process that
// dies loses the lock with its connection.
func fleetLock(ctx context.Context, pool *pgxpool.Pool) (unlock func(), err error) {
	unlock, err = pglock.TryAcquire(ctx, pool, "rollout:fleet")
	if errors.Is(err, pglock.ErrHeld) {
		return nil, ErrBusy
	}
	return unlock, err
}
