package migrations_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3/lock"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/migrations"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, 0)) }

// LockNotAcquired reads goose's words; this pins them against the goose in go.mod by
// making goose give up on a lock another session holds.
func TestLockNotAcquiredMatchesGoosesLockFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := pgtest.Get(t)
	db := env.Control.NewDatabase(t, "gooselock")
	holder := env.Control.Conn(t, db)
	_, err := holder.Exec(ctx, "SELECT pg_advisory_lock($1)", lock.DefaultLockID)
	require.NoError(t, err)

	cfg, err := pgx.ParseConfig(env.Control.SuperDSN(db))
	require.NoError(t, err)
	set := fstest.MapFS{"00001_a.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n")}}
	_, err = migrations.Up(ctx, cfg, set, migrations.Options{LockTimeoutSeconds: 1})
	require.Error(t, err)
	require.True(t, migrations.LockNotAcquired(err), "goose's lock failure is recognised: %v", err)

	require.False(t, migrations.LockNotAcquired(nil))
	require.False(t, migrations.LockNotAcquired(errors.New("migration 00001_a.sql failed")))
}
