package rollout

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/pglock"
)

// handles returns the server-handle cache a run uses: given (the caller's, left open)
// or, when nil, one of the run's own, which release closes.
func handles(store *catalog.Store, given *fleet.Servers) (srvs *fleet.Servers, release func()) {
	if given != nil {
		return given, func() {}
	}
	srvs = fleet.NewServers(store)
	return srvs, srvs.Close
}

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
