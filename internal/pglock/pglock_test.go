package pglock_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pglock"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, 0)) }

func pool(t *testing.T) *pgxpool.Pool {
	env := pgtest.Get(t)
	p, err := pgxpool.New(context.Background(), env.Control.SuperDSN(env.Control.NewDatabase(t, "lock")))
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

// TestAcquireWaitsForARelease is what a rerun right after a kill relies on: the dead
// process's session still holds the lock for a moment, and the rerun must not be told
// the tenant is busy.
func TestAcquireWaitsForARelease(t *testing.T) {
	ctx := context.Background()
	p := pool(t)
	name := "tenant:" + pgtest.RandomSuffix()
	unlock, err := pglock.TryAcquire(ctx, p, name)
	require.NoError(t, err)

	_, err = pglock.TryAcquire(ctx, p, name)
	require.ErrorIs(t, err, pglock.ErrHeld, "TryAcquire does not wait")

	start := time.Now()
	_, err = pglock.Acquire(ctx, p, name, 300*time.Millisecond)
	require.ErrorIs(t, err, pglock.ErrHeld, "held for longer than the wait")
	require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)

	go func() { time.Sleep(200 * time.Millisecond); unlock() }()
	start = time.Now()
	unlock2, err := pglock.Acquire(ctx, p, name, 10*time.Second)
	require.NoError(t, err, "released within the wait")
	require.Less(t, time.Since(start), 5*time.Second, "taken as soon as it is released, not at the end of the wait")

	_, err = pglock.TryAcquire(ctx, p, name)
	require.ErrorIs(t, err, pglock.ErrHeld, "Acquire's lock outlives the transaction it was taken in")
	unlock2()
	unlock3, err := pglock.TryAcquire(ctx, p, name)
	require.NoError(t, err, "unlock releases it")
	unlock3()
}
