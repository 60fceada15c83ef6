package rollup_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/rollup"
	"github.com/tenantctl/tenantctl/warehouse"
)

// A tenant whose warehouse lock another session holds fails alone, with the lock named,
// after lock_timeout; the warehouse connection it used goes back to the pool unusable
// for nothing (the next tenant on the same single connection is copied), and a rerun
// once the lock is free copies it exactly.
func TestLockedTenantFailsAloneAndRerunCopiesIt(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 2})
	ctx := context.Background()
	// Register the warehouse with a short lock_timeout, so the locked tenant fails fast.
	u, err := url.Parse(b.whDSN)
	require.NoError(t, err)
	q := u.Query()
	q.Set("lock_timeout", "300")
	u.RawQuery = q.Encode()
	_, err = b.prov.InitWarehouse(ctx, u.String())
	require.NoError(t, err)
	for _, ten := range b.tenants {
		seed(t, b.tenantConn(ten), 30)
	}
	b.mustRun(rollup.Options{})
	locked, free := b.tenants[0], b.tenants[1]
	mutate(t, b.tenantConn(locked), 5)
	mutate(t, b.tenantConn(free), 5)

	unlock, err := warehouse.LockTenant(ctx, b.wh, locked.ID)
	require.NoError(t, err)
	// One warehouse connection: the free tenant, after the locked one failed on it, gets
	// a connection with no lock, no transaction and nothing half-read.
	res, err := b.run(rollup.Options{Targets: b.tenants, Options: fleet.Options{Concurrency: 1, PerServer: 1}})
	require.Error(t, err)
	lr := tenantResult(t, res, locked.Slug)
	require.Equal(t, rollup.StatusFailed, lr.Status)
	require.Contains(t, lr.Error, "another rollup or purge of tenant "+locked.ID+" is still writing")
	require.Equal(t, rollup.StatusOK, tenantResult(t, res, free.Slug).Status)
	b.requireEqual(defaultTables, free)

	require.NoError(t, unlock())
	b.mustRun(rollup.Options{})
	b.requireEqual(defaultTables)
}

// The counts of the tables copied incrementally last time travel with the snapshot; a
// table dropped or turned into a view since fails that count, and the tenant is told
// what is wrong as on a first run, while the other tenants are copied.
func TestTableGoneSinceLastRunIsNamed(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 2})
	spec, err := rollup.ParseSpec([]byte("tables:\n  - name: users\n    key: [id]\n  - name: public.extras\n    key: [code]\n"))
	require.NoError(t, err)
	for _, ten := range b.tenants {
		seed(t, b.tenantConn(ten), 10)
		b.asOwner(ten, `CREATE TABLE extras (code text PRIMARY KEY, amount numeric)`, `INSERT INTO extras VALUES ('x', 1), ('y', 2)`)
	}
	b.mustRun(rollup.Options{Spec: spec})
	res := b.mustRun(rollup.Options{Spec: spec})
	require.Equal(t, rollup.ModeIncremental, tableResult(t, tenantResult(t, res, b.tenants[0].Slug), "extras").Mode)

	gone, kept := b.tenants[0], b.tenants[1]
	b.asOwner(gone, `DROP TABLE extras`)
	exec(t, b.tenantConn(kept), `UPDATE extras SET amount = amount + 1`)
	res, err = b.run(rollup.Options{Spec: spec})
	require.ErrorIs(t, err, rollup.ErrSchema)
	require.Contains(t, tenantResult(t, res, gone.Slug).Error, "table public.extras does not exist in the tenant database")
	require.Equal(t, rollup.StatusOK, tenantResult(t, res, kept.Slug).Status)
	b.requireEqual([]string{"users", "extras"}, kept)

	b.asOwner(gone, `CREATE VIEW extras AS SELECT 'z'::text AS code, 3::numeric AS amount`)
	res, err = b.run(rollup.Options{Spec: spec})
	require.ErrorIs(t, err, rollup.ErrSchema)
	require.Contains(t, tenantResult(t, res, gone.Slug).Error, "use mode: full")
	require.Equal(t, rollup.StatusOK, tenantResult(t, res, kept.Slug).Status)
}

// Tables are read as the admin role (which inherits the owner's privileges) unless
// that could change what is read: a table with row-level security is read as its owner,
// whom a policy does not filter, every run, incremental ones included; a table that
// forces its policies on the owner fails the tenant rather than copying fewer rows.
func TestRowLevelSecurityTablesAreReadAsTheOwner(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 2})
	spec, err := rollup.ParseSpec([]byte("tables:\n  - name: users\n    key: [id]\n  - name: public.extras\n    key: [code]\n"))
	require.NoError(t, err)
	secured := b.tenants[0]
	for _, ten := range b.tenants {
		seed(t, b.tenantConn(ten), 10)
		b.asOwner(ten, `CREATE TABLE extras (code text PRIMARY KEY, amount numeric)`, `INSERT INTO extras VALUES ('x', 1), ('y', 2)`)
	}
	b.asOwner(secured, `ALTER TABLE extras ENABLE ROW LEVEL SECURITY`, `CREATE POLICY nobody ON extras USING (false)`)
	b.mustRun(rollup.Options{Spec: spec})
	b.requireEqual([]string{"users", "extras"})

	exec(t, b.tenantConn(secured), `INSERT INTO extras VALUES ('z', 3)`, `UPDATE extras SET amount = 10 WHERE code = 'x'`, `DELETE FROM extras WHERE code = 'y'`)
	res := b.mustRun(rollup.Options{Spec: spec})
	require.Equal(t, rollup.ModeIncremental, tableResult(t, tenantResult(t, res, secured.Slug), "extras").Mode)
	b.requireEqual([]string{"users", "extras"})
	require.Equal(t, int64(2), b.whCount("extras", secured.ID))

	b.asOwner(secured, `ALTER TABLE extras FORCE ROW LEVEL SECURITY`)
	res, err = b.run(rollup.Options{Spec: spec})
	require.Error(t, err)
	require.Contains(t, tenantResult(t, res, secured.Slug).Error, "row-level security")
	require.Equal(t, rollup.StatusOK, tenantResult(t, res, b.tenants[1].Slug).Status)
	require.Equal(t, int64(2), b.whCount("extras", secured.ID), "nothing of the failed run was written")
}
