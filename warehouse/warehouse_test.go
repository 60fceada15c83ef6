package warehouse_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/warehouse"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, 0)) }

func TestTablesWatermarksAndPurgeLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := pgtest.Get(t)
	dsn := env.Control.SuperDSN(env.Control.NewDatabase(t, "warehouse"))
	_, err := warehouse.Init(ctx, dsn)
	require.NoError(t, err)
	conn, err := dbconn.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	current, err := warehouse.Current(ctx, conn)
	require.NoError(t, err)
	require.True(t, current)

	want := warehouse.Table{Name: "orders", Key: []string{"region", "id"}, Columns: []warehouse.Column{
		{Name: "region", Type: "text", Declared: "text"}, {Name: "id", Type: "bigint", Declared: "bigint"},
		{Name: "amount", Type: "numeric", Declared: "numeric"},
		// char(n) without its length: format_type calls it character, which in DDL means
		// char(1); the canonical name is bpchar on both sides of a rollup.
		{Name: "code", Type: "bpchar", Declared: "bpchar"}, {Name: "flags", Type: "bit varying", Declared: "bit varying"},
	}}
	got, err := warehouse.EnsureTable(ctx, conn, want)
	require.NoError(t, err)
	require.True(t, got.HasTenantID)
	require.True(t, got.SameKey([]string{"region", "id"}))
	require.Equal(t, want.Columns, got.Columns)
	require.NotZero(t, got.OID)

	// A second caller with one more column adds it and changes nothing else.
	want.Columns = append(want.Columns, warehouse.Column{Name: "tags", Type: "text[]", Declared: "text[]"})
	again, err := warehouse.EnsureTable(ctx, conn, want)
	require.NoError(t, err)
	require.Equal(t, got.OID, again.OID)
	require.Equal(t, want.Columns, again.Columns)
	_, err = warehouse.EnsureTable(ctx, conn, warehouse.Table{Name: "bad", Key: []string{"id"},
		Columns: []warehouse.Column{{Name: "id", Type: "int); DROP TABLE orders; --"}}})
	require.ErrorContains(t, err, "refusing unexpected type name")

	var collation string
	require.NoError(t, conn.QueryRow(ctx, `SELECT coalesce(c.collname, '') FROM pg_attribute a
		LEFT JOIN pg_collation c ON c.oid = a.attcollation WHERE a.attrelid = 'orders'::regclass AND a.attname = 'tenant_id'`).Scan(&collation))
	require.Equal(t, "C", collation)

	// Watermarks round-trip; a failure keeps the watermark.
	xmin, count := int64(1234), int64(2)
	require.NoError(t, warehouse.SaveWatermark(ctx, conn, warehouse.Watermark{TenantID: "aaaaaaaaaa", Table: "orders",
		Xmin: &xmin, Source: "1/2", Signature: "s", Mode: "full", RowsCopied: 2, RowCount: &count}))
	require.NoError(t, warehouse.RecordFailure(ctx, conn, "aaaaaaaaaa", []string{"orders", "other"}, "boom"))
	marks, err := warehouse.Watermarks(ctx, conn, "aaaaaaaaaa")
	require.NoError(t, err)
	require.Equal(t, int64(1234), *marks["aaaaaaaaaa"]["orders"].Xmin)
	require.Equal(t, "boom", marks["aaaaaaaaaa"]["orders"].LastError)
	require.NotNil(t, marks["aaaaaaaaaa"]["orders"].LastRun)
	require.Nil(t, marks["aaaaaaaaaa"]["other"].Xmin)

	// Purge waits for a rollup holding the tenant's lock, then removes everything.
	_, err = conn.Exec(ctx, `INSERT INTO orders (tenant_id, region, id) VALUES ('aaaaaaaaaa', 'eu', 1), ('bbbbbbbbbb', 'eu', 1)`)
	require.NoError(t, err)
	unlock, err := warehouse.LockTenant(ctx, conn, "aaaaaaaaaa")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := warehouse.PurgeTenant(ctx, dsn, "aaaaaaaaaa")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("purge did not wait for the tenant's lock: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, unlock())
	require.NoError(t, <-done)
	counts, err := warehouse.RowCounts(ctx, conn, []string{"orders", "missing"})
	require.NoError(t, err)
	require.Equal(t, map[string]map[string]int64{"orders": {"bbbbbbbbbb": 1}}, counts)
	marks, err = warehouse.Watermarks(ctx, conn, "")
	require.NoError(t, err)
	require.Empty(t, marks)
}

// The queued forms do in one round trip what the plain ones do: lock, read watermarks
// and tables, write a watermark and a dimension row, unlock.
func TestQueuedStatementsInOneBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := pgtest.Get(t)
	dsn := env.Control.SuperDSN(env.Control.NewDatabase(t, "warehouse"))
	_, err := warehouse.Init(ctx, dsn)
	require.NoError(t, err)
	conn, err := dbconn.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = warehouse.EnsureTable(ctx, conn, warehouse.Table{Name: "orders", Key: []string{"id"},
		Columns: []warehouse.Column{{Name: "id", Type: "bigint"}}})
	require.NoError(t, err)
	xmin, count := int64(7), int64(3)
	require.NoError(t, warehouse.SaveWatermark(ctx, conn, warehouse.Watermark{TenantID: "aaaaaaaaaa", Table: "orders",
		Xmin: &xmin, Mode: "full", RowCount: &count}))

	var marks map[string]warehouse.Watermark
	var tables map[string]warehouse.Table
	b := &pgx.Batch{}
	warehouse.QueueLockTenant(b, "aaaaaaaaaa")
	warehouse.QueueWatermarks(b, "aaaaaaaaaa", &marks)
	warehouse.QueueDescribeTables(b, []string{"orders", "missing"}, &tables)
	require.NoError(t, conn.SendBatch(ctx, b).Close())
	require.Equal(t, int64(7), *marks["orders"].Xmin)
	require.Len(t, tables, 1)
	require.True(t, tables["orders"].SameKey([]string{"id"}))

	// Another session cannot take the lock while this one holds it.
	other, err := dbconn.Connect(ctx, dsn+"&lock_timeout=200")
	require.NoError(t, err)
	defer other.Close(ctx)
	_, err = warehouse.LockTenant(ctx, other, "aaaaaaaaaa")
	require.ErrorContains(t, err, "another rollup or purge of tenant aaaaaaaaaa is still writing")

	xmin = 9
	released := false
	b = &pgx.Batch{}
	// Several tables' watermarks in one statement, an unknown count (NULL) among them.
	warehouse.QueueSaveWatermarks(b, []warehouse.Watermark{
		{TenantID: "aaaaaaaaaa", Table: "orders", Xmin: &xmin, Source: "s/1", Signature: "sig", Mode: "incremental",
			RowsCopied: 4, RowsDeleted: 1, RowCount: &count},
		{TenantID: "aaaaaaaaaa", Table: "lines", Xmin: &xmin, Mode: "full", RowsCopied: 2},
	})
	warehouse.QueueUpsertTenant(b, warehouse.Tenant{ID: "aaaaaaaaaa", Slug: "acme", Name: "Acme", Domain: "acme.example", State: "active"})
	warehouse.QueueUnlockTenant(b, "aaaaaaaaaa", &released)
	require.NoError(t, conn.SendBatch(ctx, b).Close())
	require.True(t, released)
	got, err := warehouse.Watermarks(ctx, conn, "aaaaaaaaaa")
	require.NoError(t, err)
	require.Equal(t, int64(9), *got["aaaaaaaaaa"]["orders"].Xmin)
	orders, lines := got["aaaaaaaaaa"]["orders"], got["aaaaaaaaaa"]["lines"]
	require.Equal(t, []any{"s/1", "sig", "incremental", int64(4), int64(1), count, ""},
		[]any{orders.Source, orders.Signature, orders.Mode, orders.RowsCopied, orders.RowsDeleted, *orders.RowCount, orders.LastError})
	require.NotNil(t, orders.LastRun)
	require.Equal(t, int64(9), *lines.Xmin)
	require.Equal(t, "full", lines.Mode)
	require.Equal(t, int64(2), lines.RowsCopied)
	require.Nil(t, lines.RowCount)
	dim, err := warehouse.Tenants(ctx, conn)
	require.NoError(t, err)
	require.Equal(t, "acme", dim["aaaaaaaaaa"].Slug)
	unlock, err := warehouse.LockTenant(ctx, other, "aaaaaaaaaa")
	require.NoError(t, err, "the lock was released")
	require.NoError(t, unlock())

	// The watermarks and the dimension row in one statement; and the dimension row alone
	// when no table was copied.
	xmin = 11
	b = &pgx.Batch{}
	warehouse.QueueSaveRun(b, []warehouse.Watermark{
		{TenantID: "aaaaaaaaaa", Table: "orders", Xmin: &xmin, Source: "s/1", Signature: "sig2", Mode: "full", RowsCopied: 3, RowCount: &count},
	}, warehouse.Tenant{ID: "aaaaaaaaaa", Slug: "acme", Name: "Acme Two", Domain: "acme.example", State: "suspended"})
	warehouse.QueueSaveRun(b, nil, warehouse.Tenant{ID: "bbbbbbbbbb", Slug: "beta", Name: "Beta", State: "active"})
	require.Len(t, b.QueuedQueries, 2)
	require.NoError(t, conn.SendBatch(ctx, b).Close())
	got, err = warehouse.Watermarks(ctx, conn, "aaaaaaaaaa")
	require.NoError(t, err)
	orders = got["aaaaaaaaaa"]["orders"]
	require.Equal(t, []any{int64(11), "sig2", "full", int64(3)}, []any{*orders.Xmin, orders.Signature, orders.Mode, orders.RowsCopied})
	require.Equal(t, int64(9), *got["aaaaaaaaaa"]["lines"].Xmin, "a table not in the run keeps its watermark")
	dim, err = warehouse.Tenants(ctx, conn)
	require.NoError(t, err)
	require.Equal(t, []string{"Acme Two", "suspended", "Beta"}, []string{dim["aaaaaaaaaa"].Name, dim["aaaaaaaaaa"].State, dim["bbbbbbbbbb"].Name})
}
