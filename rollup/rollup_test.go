package rollup_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/rollup"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// Not parallel: "a rerun copies nothing" needs no other test's open transaction on the
// shared servers holding the snapshot's xmin back (which would, correctly, make the
// rerun read a few rows again).
func TestInitialIncrementalUpdatesDeletesAndQuietRerun(t *testing.T) {
	b := setup(t, setupOptions{tenants: 2})
	a, c := b.tenants[0], b.tenants[1]
	srcA, srcC := b.tenantConn(a), b.tenantConn(c)
	for _, ten := range b.tenants {
		// An autoanalyze transaction open during a run would hold its watermark back.
		b.asOwner(ten, "ALTER TABLE users SET (autovacuum_enabled = false)",
			"ALTER TABLE systems SET (autovacuum_enabled = false)", "ALTER TABLE incidents SET (autovacuum_enabled = false)")
	}
	seed(t, srcA, 300)
	seed(t, srcC, 200)

	res := b.mustRun(rollup.Options{})
	b.requireEqual(defaultTables)
	ra := tenantResult(t, res, a.Slug)
	require.Equal(t, int64(900), ra.RowsCopied)
	for _, table := range defaultTables {
		tr := tableResult(t, ra, table)
		require.Equal(t, rollup.ModeFull, tr.Mode)
		require.Equal(t, "first run", tr.Reason)
	}
	require.Equal(t, map[string]int64{"tenants": 2, "tenants_ok": 2, "tenants_failed": 0, "tenants_skipped": 0,
		"rows_copied": 1500, "rows_deleted": 0}, res.Counts())

	// Inserts, updates and deletes propagate, incrementally.
	exec(t, srcA,
		`INSERT INTO incidents (title, priority) SELECT 'new ' || g, 2 FROM generate_series(1, 20) g`,
		`UPDATE incidents SET status = 'closed', title = title || '!' WHERE id BETWEEN 1 AND 20`,
		`DELETE FROM incidents WHERE id BETWEEN 100 AND 110`,
		`UPDATE users SET full_name = 'Renamed' WHERE id = 1`)
	exec(t, srcC, `DELETE FROM incidents WHERE id % 10 = 0`, `UPDATE systems SET status = 'retired' WHERE id % 7 = 0`)
	res = b.mustRun(rollup.Options{})
	b.requireEqual(defaultTables)
	ra, rc := tenantResult(t, res, a.Slug), tenantResult(t, res, c.Slug)
	inc := tableResult(t, ra, "incidents")
	require.Equal(t, rollup.ModeIncremental, inc.Mode)
	require.Equal(t, int64(40), inc.RowsCopied, "20 new and 20 updated incidents, nothing else")
	require.Equal(t, int64(11), inc.RowsDeleted)
	require.Equal(t, int64(1), tableResult(t, ra, "users").RowsCopied)
	require.Equal(t, int64(0), tableResult(t, ra, "systems").RowsCopied)
	require.Equal(t, int64(20), tableResult(t, rc, "incidents").RowsDeleted)
	require.Equal(t, int64(0), tableResult(t, rc, "incidents").RowsCopied)
	require.Equal(t, int64(28), tableResult(t, rc, "systems").RowsCopied)

	// A rerun with no change copies and deletes nothing.
	res = b.mustRun(rollup.Options{})
	require.Equal(t, int64(0), res.Counts()["rows_copied"], "%+v", res)
	require.Equal(t, int64(0), res.Counts()["rows_deleted"])
	b.requireEqual(defaultTables)

	// The tenant dimension is current.
	var slug, state string
	require.NoError(t, b.wh.QueryRow(context.Background(), `SELECT slug, state FROM tenantctl.tenants WHERE id = $1`, a.ID).Scan(&slug, &state))
	require.Equal(t, a.Slug, slug)
	require.Equal(t, catalog.StateActive, state)

	// Status: one GROUP BY per table, rows per tenant.
	st, err := rollup.Status(context.Background(), b.store)
	require.NoError(t, err)
	require.Len(t, st, 6)
	for _, s := range st {
		require.NotNil(t, s.LastRun)
		require.Empty(t, s.LastError)
		require.Equal(t, b.whCount(s.Table, s.TenantID), s.Rows)
	}
}

func TestWriterOpenDuringRunIsPickedUpNextRun(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 1})
	ten := b.tenants[0]
	src := b.tenantConn(ten)
	seed(t, src, 50)
	b.mustRun(rollup.Options{})

	// A writer takes its transaction id (and, say, a sequence value) before the run
	// reads the tenant and commits after it.
	writer := b.tenantConn(ten)
	exec(t, writer, "BEGIN",
		`INSERT INTO incidents (title, priority) SELECT 'late ' || g, 2 FROM generate_series(1, 25) g`,
		`UPDATE users SET full_name = 'changed while open' WHERE id = (SELECT min(id) FROM users)`)
	// Someone else commits a newer sequence value before the run: a sequence watermark
	// would now skip the writer's rows for ever.
	exec(t, src, `INSERT INTO incidents (title, priority) VALUES ('quick', 1)`)
	b.mustRun(rollup.Options{})
	exec(t, writer, "COMMIT")
	require.Equal(t, int64(51), b.whCount("incidents", ten.ID), "the open transaction's rows are not visible yet")

	res := b.mustRun(rollup.Options{})
	b.requireEqual(defaultTables)
	require.Equal(t, int64(76), b.whCount("incidents", ten.ID))
	tr := tenantResult(t, res, ten.Slug)
	require.GreaterOrEqual(t, tableResult(t, tr, "incidents").RowsCopied, int64(25))
}

func TestFrozenRowsAreStillCopied(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 1})
	ten := b.tenants[0]
	src := b.tenantConn(ten)
	seed(t, src, 10)
	b.mustRun(rollup.Options{})
	// New rows, frozen by VACUUM before the next run: xmin must still tell them apart.
	seed(t, src, 10)
	exec(t, src, "VACUUM (FREEZE) users", "VACUUM (FREEZE) systems", "VACUUM (FREEZE) incidents")
	b.mustRun(rollup.Options{})
	b.requireEqual(defaultTables)
}

func TestConcurrentWritersThenFinalRunIsExact(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 2})
	for _, ten := range b.tenants {
		seed(t, b.tenantConn(ten), 100)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for _, ten := range b.tenants {
		for w := 0; w < 2; w++ {
			conn := b.tenantConn(ten)
			wg.Go(func() {
				for i := 0; ctx.Err() == nil; i++ {
					if err := writeBatch(ctx, conn, i); err != nil && ctx.Err() == nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	for i := 0; i < 5; i++ {
		_, err := b.run(rollup.Options{Options: fleet.Options{Concurrency: 2}})
		require.NoError(t, err)
		time.Sleep(time.Duration(rand.IntN(50)) * time.Millisecond)
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	b.mustRun(rollup.Options{})
	b.requireEqual(defaultTables)
}

// writeBatch is one writer transaction: inserts, updates and deletes, sometimes kept
// open a while so that runs start and end during it.
func writeBatch(ctx context.Context, conn *pgx.Conn, i int) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	for _, s := range []string{
		`INSERT INTO incidents (title, priority) SELECT 'w ' || g, 1 + g % 4 FROM generate_series(1, 5) g`,
		`UPDATE incidents SET status = 'in_progress', title = title || '.' WHERE id IN (SELECT id FROM incidents ORDER BY random() LIMIT 3)`,
		`DELETE FROM incidents WHERE id IN (SELECT id FROM incidents ORDER BY random() LIMIT 2)`,
		`UPDATE systems SET serial = md5(random()::text) WHERE id IN (SELECT id FROM systems ORDER BY random() LIMIT 2)`,
	} {
		if _, err := tx.Exec(ctx, s); err != nil {
			if dbconn.SQLState(err) == "40P01" { // writers may deadlock on each other's rows
				return nil
			}
			return err
		}
	}
	if i%3 == 0 {
		select {
		case <-time.After(time.Duration(rand.IntN(80)) * time.Millisecond):
		case <-ctx.Done():
		}
	}
	err = tx.Commit(context.WithoutCancel(ctx))
	if dbconn.SQLState(err) == "40P01" {
		return nil
	}
	return err
}

func TestHookFailureRollsBackAndRerunCompletes(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 2})
	a, c := b.tenants[0], b.tenants[1]
	srcA := b.tenantConn(a)
	seed(t, srcA, 40)
	seed(t, b.tenantConn(c), 40)
	b.mustRun(rollup.Options{})

	mutate(t, srcA, 10)
	boom := errors.New("injected crash")
	for _, hooks := range []rollup.Hooks{
		{AfterTable: func(id, table string) error {
			if id == a.ID && table == "incidents" {
				return boom
			}
			return nil
		}},
		{BeforeCommit: func(id string) error {
			if id == a.ID {
				return boom
			}
			return nil
		}},
	} {
		before := b.whCount("incidents", a.ID)
		res, err := b.run(rollup.Options{Hooks: hooks})
		var pe *rollup.PartialError
		require.ErrorAs(t, err, &pe)
		require.ErrorIs(t, err, boom)
		require.Contains(t, pe.Failed, a.Slug)
		require.Equal(t, []string{c.Slug}, pe.Succeeded)
		require.Equal(t, rollup.StatusFailed, tenantResult(t, res, a.Slug).Status)
		require.Equal(t, before, b.whCount("incidents", a.ID), "nothing of the failed tenant's transaction is left")
		st, err := rollup.Status(context.Background(), b.store)
		require.NoError(t, err)
		for _, s := range st {
			if s.TenantID == a.ID {
				require.Contains(t, s.LastError, "injected crash")
			} else {
				require.Empty(t, s.LastError)
			}
		}
	}
	res := b.mustRun(rollup.Options{})
	b.requireEqual(defaultTables)
	require.Positive(t, tenantResult(t, res, a.Slug).RowsCopied)
	st, err := rollup.Status(context.Background(), b.store)
	require.NoError(t, err)
	for _, s := range st {
		require.Empty(t, s.LastError, "a successful run clears the last error")
	}
}

func TestUnreachableServerFailsAlone(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 2})
	for _, ten := range b.tenants {
		seed(t, b.tenantConn(ten), 20)
	}
	// A third server whose PostgreSQL is down (nothing listens on port 1), holding a
	// tenant the catalog believes active.
	ctx := context.Background()
	require.NoError(t, b.store.AddServer(ctx, catalog.Server{Name: "pg-down", Host: "127.0.0.1", Port: 1, AdminRole: "admin",
		VersionNum: 150000, Capacity: 10}, "postgres://admin:down-password@127.0.0.1:1/postgres?connect_timeout=2"))
	down := catalog.Tenant{ID: tenantdb.NewID(), Slug: "down-tenant", Name: "Down", Domain: "down.example", Server: "pg-down"}
	require.NoError(t, b.store.InsertTenant(ctx, down))
	active := catalog.StateActive
	require.NoError(t, b.store.UpdateTenant(ctx, down.ID, catalog.TenantUpdate{State: &active}))

	res, err := b.run(rollup.Options{Options: fleet.Options{Concurrency: 3}})
	var pe *rollup.PartialError
	require.ErrorAs(t, err, &pe)
	require.Len(t, pe.Failed, 1)
	require.Contains(t, pe.Failed["down-tenant"].Error(), "127.0.0.1:1")
	require.ElementsMatch(t, []string{b.tenants[0].Slug, b.tenants[1].Slug}, pe.Succeeded)
	require.Equal(t, int64(1), res.Counts()["tenants_failed"])
	b.requireEqual(defaultTables)

	st, err := rollup.Status(ctx, b.store)
	require.NoError(t, err)
	var seen int
	for _, s := range st {
		if s.Slug == "down-tenant" {
			seen++
			require.Nil(t, s.LastRun)
			require.Contains(t, s.LastError, "connect to 127.0.0.1:1")
			require.Zero(t, s.Rows)
		}
	}
	require.Equal(t, 3, seen)
}

func TestSpecErrorsFailOnlyTheirTenant(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 2})
	a, c := b.tenants[0], b.tenants[1]
	seed(t, b.tenantConn(a), 10)
	seed(t, b.tenantConn(c), 10)
	b.asOwner(a, `CREATE TABLE extras (code text PRIMARY KEY, amount numeric(10,2), tags text[], at timestamptz(3))`,
		`INSERT INTO extras VALUES ('x', 1.5, '{a,b}', now()), ('y', NULL, NULL, NULL)`)

	spec, err := rollup.ParseSpec([]byte("tables:\n  - name: users\n    key: [id]\n  - name: public.extras\n    key: [code]\n"))
	require.NoError(t, err)
	res, err := b.run(rollup.Options{Spec: spec})
	var pe *rollup.PartialError
	require.ErrorAs(t, err, &pe)
	require.ErrorIs(t, err, rollup.ErrSchema)
	require.Equal(t, []string{a.Slug}, pe.Succeeded)
	require.Contains(t, pe.Failed[c.Slug].Error(), "table public.extras does not exist in the tenant database")
	require.Equal(t, rollup.StatusOK, tenantResult(t, res, a.Slug).Status)
	b.requireEqual([]string{"users", "extras"}, a)
	require.Zero(t, b.whCount("users", c.ID), "the failed tenant wrote nothing")

	spec, err = rollup.ParseSpec([]byte("tables:\n  - name: users\n    key: [nope]\n"))
	require.NoError(t, err)
	_, err = b.run(rollup.Options{Spec: spec})
	require.ErrorAs(t, err, &pe)
	require.Len(t, pe.Failed, 2)
	require.Contains(t, pe.Failed[a.Slug].Error(), `key column "nope" of table users does not exist`)

	// A spec whose key differs from the warehouse table's is refused, not merged.
	spec, err = rollup.ParseSpec([]byte("tables:\n  - name: users\n    key: [email]\n"))
	require.NoError(t, err)
	_, err = b.run(rollup.Options{Spec: spec})
	require.ErrorAs(t, err, &pe)
	require.Contains(t, pe.Failed[a.Slug].Error(), "has primary key (tenant_id, id)")

	// A view can only be copied in full.
	for _, ten := range b.tenants {
		b.asOwner(ten, `CREATE VIEW open_incidents AS SELECT id, title, priority FROM incidents WHERE status = 'open'`)
	}
	spec, err = rollup.ParseSpec([]byte("tables:\n  - name: open_incidents\n    key: [id]\n"))
	require.NoError(t, err)
	_, err = b.run(rollup.Options{Spec: spec})
	require.ErrorAs(t, err, &pe)
	require.Contains(t, pe.Failed[a.Slug].Error(), "use mode: full")
	spec, err = rollup.ParseSpec([]byte("tables:\n  - name: open_incidents\n    key: [id]\n    mode: full\n"))
	require.NoError(t, err)
	b.mustRun(rollup.Options{Spec: spec})
	exec(t, b.tenantConn(a), `UPDATE incidents SET status = 'closed' WHERE id % 2 = 0`)
	res = b.mustRun(rollup.Options{Spec: spec})
	require.Equal(t, rollup.ModeFull, tableResult(t, tenantResult(t, res, a.Slug), "open_incidents").Mode)
	b.requireEqual([]string{"open_incidents"})
}

func TestColumnsAddedAndTypeConflicts(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 2})
	a, c := b.tenants[0], b.tenants[1]
	seed(t, b.tenantConn(a), 30)
	seed(t, b.tenantConn(c), 30)
	b.mustRun(rollup.Options{})

	// A new column with a default: existing rows keep their xmin, so the table must be
	// copied in full for that tenant, and only for it.
	b.asOwner(a, `CREATE TYPE mood AS ENUM ('calm', 'busy')`,
		`ALTER TABLE users ADD COLUMN nickname varchar(20) DEFAULT 'nick', ADD COLUMN mood mood DEFAULT 'calm'`)
	res := b.mustRun(rollup.Options{})
	tr := tableResult(t, tenantResult(t, res, a.Slug), "users")
	require.Equal(t, rollup.ModeFull, tr.Mode)
	require.Equal(t, "columns changed", tr.Reason)
	require.Equal(t, rollup.ModeIncremental, tableResult(t, tenantResult(t, res, c.Slug), "users").Mode)
	b.requireEqual(defaultTables)
	var nickA, nickType, moodType string
	require.NoError(t, b.wh.QueryRow(context.Background(), `
		SELECT (SELECT min(nickname) FROM users WHERE tenant_id = $1),
		       (SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'nickname'),
		       (SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'mood')`,
		a.ID).Scan(&nickA, &nickType, &moodType))
	require.Equal(t, "nick", nickA)
	require.Equal(t, "character varying", nickType, "no length: tenants may disagree on it")
	require.Equal(t, "text", moodType, "an enum the warehouse does not have travels as text")
	var nullsC int64
	require.NoError(t, b.wh.QueryRow(context.Background(),
		`SELECT count(*) FROM users WHERE tenant_id = $1 AND nickname IS NULL AND mood IS NULL`, c.ID).Scan(&nullsC))
	require.Equal(t, int64(30), nullsC)

	// The other tenant gets the column with another type: it fails with a clear error.
	b.asOwner(c, `ALTER TABLE users ADD COLUMN nickname integer`)
	_, err := b.run(rollup.Options{})
	var pe *rollup.PartialError
	require.ErrorAs(t, err, &pe)
	require.ErrorIs(t, err, rollup.ErrSchema)
	require.Contains(t, pe.Failed[c.Slug].Error(), "column users.nickname is integer in the tenant database but character varying in the warehouse")
	require.Equal(t, []string{a.Slug}, pe.Succeeded)
}

func TestPurgeRemovesWarehouseRows(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 2})
	a, c := b.tenants[0], b.tenants[1]
	srcA := b.tenantConn(a)
	seed(t, srcA, 20)
	seed(t, b.tenantConn(c), 20)
	b.mustRun(rollup.Options{})
	require.Equal(t, int64(20), b.whCount("users", a.ID))
	// The admin role cannot end a superuser's session, which would block the drop.
	require.NoError(t, srcA.Close(context.Background()))

	ctx := context.Background()
	require.NoError(t, b.prov.Delete(ctx, provisioner.DeleteOptions{Slug: a.Slug, Confirm: a.Slug, Purge: true}))
	var traces int64
	require.NoError(t, b.wh.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM users WHERE tenant_id = $1) + (SELECT count(*) FROM systems WHERE tenant_id = $1)
		     + (SELECT count(*) FROM incidents WHERE tenant_id = $1)
		     + (SELECT count(*) FROM tenantctl.watermarks WHERE tenant_id = $1)
		     + (SELECT count(*) FROM tenantctl.tenants WHERE id = $1)`, a.ID).Scan(&traces))
	require.Zero(t, traces, "no trace of the purged tenant is left in the warehouse")
	require.Equal(t, int64(20), b.whCount("users", c.ID))

	// Later runs leave it gone and do not stumble on it.
	res := b.mustRun(rollup.Options{})
	require.Len(t, res.Tenants, 1)
	b.requireEqual(defaultTables, c)
}

func TestWarehouseStaysMSPOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 1, warehouseOnServer: true})
	ten := b.tenants[0]
	seed(t, b.tenantConn(ten), 5)
	b.mustRun(rollup.Options{})
	ctx := context.Background()

	var publicGrants int64
	require.NoError(t, b.wh.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = current_database() AND a.grantee = 0)
		     + (SELECT count(*) FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname IN ('public', 'tenantctl') AND a.grantee = 0)
		     + (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
		        WHERE n.nspname IN ('public', 'tenantctl') AND a.grantee = 0)`).Scan(&publicGrants))
	require.Zero(t, publicGrants, "PUBLIC holds nothing in the warehouse")

	// The tenant's own application role exists on this server and can reach its own
	// database, but not the warehouse.
	appDSN, err := b.prov.AppDSN(ctx, ten.Slug)
	require.NoError(t, err)
	own, err := dbconn.Connect(ctx, appDSN)
	require.NoError(t, err)
	own.Close(ctx)
	cfg, err := dbconn.ParseConfig(appDSN)
	require.NoError(t, err)
	whCfg, err := dbconn.ParseConfig(b.whDSN)
	require.NoError(t, err)
	cfg.Database = whCfg.Database
	_, err = pgx.ConnectConfig(ctx, cfg)
	require.Error(t, err)
	// The test servers run with the pg_hba.conf lines of `tenantctl server hba`, which
	// refuse first; the privileges would refuse too.
	require.Equal(t, "28000", dbconn.SQLState(err), "%v", err)
	var canConnect bool
	require.NoError(t, b.wh.QueryRow(ctx, `SELECT has_database_privilege($1, current_database(), 'CONNECT')`, cfg.User).Scan(&canConnect))
	require.False(t, canConnect, "the app role holds no CONNECT on the warehouse")
}

func TestConcurrentRunsOfOneTenantSerialise(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 2})
	for _, ten := range b.tenants {
		seed(t, b.tenantConn(ten), 500)
	}
	b.mustRun(rollup.Options{})
	mutate(t, b.tenantConn(b.tenants[0]), 30)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { _, errs[i] = b.run(rollup.Options{}) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	b.mustRun(rollup.Options{})
	b.requireEqual(defaultTables)
}

func TestOneTenantAndBadOptions(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 2})
	seed(t, b.tenantConn(b.tenants[0]), 5)
	res := b.mustRun(rollup.Options{Options: fleet.Options{Tenant: b.tenants[0].Slug, Concurrency: 1, PerServer: 1}})
	require.Len(t, res.Tenants, 1)
	require.Equal(t, int64(15), res.Tenants[0].RowsCopied)

	_, err := b.run(rollup.Options{Options: fleet.Options{Tenant: "no-such-tenant"}})
	require.ErrorIs(t, err, catalog.ErrTenantNotFound)
	_, err = b.run(rollup.Options{Options: fleet.Options{Concurrency: -1}})
	require.Error(t, err)

	// Suspended tenants are rolled up, deleted ones are not.
	ctx := context.Background()
	require.NoError(t, b.prov.Suspend(ctx, b.tenants[0].Slug))
	require.NoError(t, b.prov.Delete(ctx, provisioner.DeleteOptions{Slug: b.tenants[1].Slug, Confirm: b.tenants[1].Slug}))
	res = b.mustRun(rollup.Options{})
	require.Len(t, res.Tenants, 1)
	require.Equal(t, b.tenants[0].Slug, res.Tenants[0].Slug)
	_, err = b.run(rollup.Options{Options: fleet.Options{Tenant: b.tenants[1].Slug}})
	require.ErrorIs(t, err, rollup.ErrNotRollable)
	require.Contains(t, fmt.Sprint(err), "deleting")
}

func TestDroppedWarehouseTableIsCopiedAgain(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 2})
	for _, ten := range b.tenants {
		seed(t, b.tenantConn(ten), 30)
	}
	b.mustRun(rollup.Options{})
	// An operator starts a table over by dropping it from the warehouse.
	exec(t, b.wh, "DROP TABLE incidents")
	exec(t, b.tenantConn(b.tenants[0]), `INSERT INTO incidents (title) VALUES ('after the drop')`)
	res := b.mustRun(rollup.Options{})
	for _, tr := range res.Tenants {
		inc := tableResult(t, tr, "incidents")
		require.Equal(t, rollup.ModeFull, inc.Mode)
		require.Equal(t, "warehouse table created again", inc.Reason)
		require.Equal(t, rollup.ModeIncremental, tableResult(t, tr, "users").Mode)
	}
	b.requireEqual(defaultTables)
}
