package rollup_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/corpus"
	"github.com/tenantctl/tenantctl/rollup"
)

// requireCorpusEqual checks that the warehouse holds exactly each tenant's rows of the
// corpus's rolled-up tables: per table, the same row count and checksum.
func (b *testBundle) requireCorpusEqual(tenants ...catalog.Tenant) {
	b.t.Helper()
	ctx := context.Background()
	for _, ten := range tenants {
		src := b.tenantConn(ten)
		for _, table := range corpus.RolledUp {
			cols, err := corpus.Columns(ctx, src, table)
			require.NoError(b.t, err)
			want, err := corpus.TableSum(ctx, src, table)
			require.NoError(b.t, err)
			got, err := corpus.WarehouseSum(ctx, b.wh, table, ten.ID, cols)
			require.NoError(b.t, err, table)
			require.Equal(b.t, want, got, "tenant %s table %s: warehouse differs from the tenant", ten.Slug, table)
			require.NotZero(b.t, want.Rows, table)
		}
		src.Close(ctx)
	}
}

// Every column type of the corpus reaches the warehouse with its values exact, on the
// first copy and after changes, deletes and rows moved between partitions; char(n)
// columns no longer fail the second tenant or the second run.
func TestCorpusEveryTypeRoundTrips(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 2, migrations: corpus.Migrations()})
	spec, err := rollup.ParseSpec(corpus.Spec())
	require.NoError(t, err)
	ctx := context.Background()
	for _, ten := range b.tenants {
		exec(t, b.tenantConn(ten), corpus.Seed())
	}
	res := b.mustRun(rollup.Options{Spec: spec})
	for _, ten := range b.tenants {
		tr := tenantResult(t, res, ten.Slug)
		skipped := tableResult(t, tr, "payment_totals")
		require.True(t, skipped.Skipped)
		require.Contains(t, skipped.Note, "materialized view is not populated")
		require.Contains(t, skipped.Note, "refresh: true")
		require.False(t, tableResult(t, tr, "language_films").Skipped)
	}
	b.requireCorpusEqual(b.tenants...)

	// The warehouse's types: modifiers dropped, domains resolved (arrays of domains too),
	// user-defined types as text, built-in ranges and multiranges kept.
	want := map[string]string{
		"language.name": "bpchar", "everything.c_char": "bpchar", "everything.c_chars": "bpchar[]",
		"everything.c_varchar": "character varying", "everything.c_numeric": "numeric", "everything.c_numerics": "numeric[]",
		"everything.c_code": "bpchar", "everything.c_codes": "bpchar[]", "everything.c_price": "numeric",
		"everything.c_pos": "numeric", "everything.c_short": "character varying", "everything.c_mood": "text",
		"everything.c_moods": "text", "everything.c_address": "text", "everything.c_addresses": "text",
		"everything.c_multi": "int4multirange", "everything.c_float": "text", "everything.c_tsv": "tsvector",
		"everything.c_bit": "bit varying", "everything.c_money": "money", "everything.c_total": "numeric",
		"payment.amount": "numeric",
	}
	for col, typ := range want {
		var got string
		require.NoError(t, b.wh.QueryRow(ctx, `SELECT format_type(atttypid, atttypmod) FROM pg_attribute
			WHERE attrelid = ('public.' || split_part($1, '.', 1))::regclass AND attname = split_part($1, '.', 2)`, col).Scan(&got))
		require.Equal(t, typ, got, col)
	}

	// Changes, deletes, rows moved between partitions (their key changes with the
	// region): incremental, nothing double-counted.
	for _, ten := range b.tenants {
		exec(t, b.tenantConn(ten), corpus.Changes())
	}
	res = b.mustRun(rollup.Options{Spec: spec})
	for _, ten := range b.tenants {
		tr := tenantResult(t, res, ten.Slug)
		require.Equal(t, rollup.ModeIncremental, tableResult(t, tr, "payment").Mode)
		require.Equal(t, rollup.ModeIncremental, tableResult(t, tr, "everything").Mode)
		require.NotZero(t, tableResult(t, tr, "payment").RowsDeleted, "moved rows' old keys deleted")
	}
	b.requireCorpusEqual(b.tenants...)
	// And a quiet run changes nothing.
	b.mustRun(rollup.Options{Spec: spec})
	b.requireCorpusEqual(b.tenants...)
}

// A type conflict names the warehouse ALTER that fixes it, and running that statement
// does: the next run copies the tenant.
func TestTypeConflictNamesTheAlterThatFixesIt(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 1})
	ten := b.tenants[0]
	spec, err := rollup.ParseSpec([]byte("tables:\n  - name: things\n    key: [id]\n"))
	require.NoError(t, err)
	b.asOwner(ten, `CREATE TABLE things (id integer PRIMARY KEY, code character(6), amount numeric(8,2))`,
		`INSERT INTO things VALUES (1, 'ab', 1.5), (2, 'abcdef', NULL), (3, NULL, 2)`)
	// The warehouse table as someone made it by hand: amount as text.
	exec(t, b.wh, `CREATE TABLE public.things (tenant_id text COLLATE "C" NOT NULL, id integer, code character(6), amount text, PRIMARY KEY (tenant_id, id))`)
	_, err = b.run(rollup.Options{Spec: spec})
	require.ErrorIs(t, err, rollup.ErrSchema)
	alter := `ALTER TABLE "public"."things" ALTER COLUMN "amount" TYPE numeric USING "amount"::text::numeric;`
	require.Contains(t, err.Error(), "column things.amount is numeric(8,2) in the tenant database but text in the warehouse")
	require.Contains(t, err.Error(), alter)
	exec(t, b.wh, alter)
	b.mustRun(rollup.Options{Spec: spec})
	b.requireEqual([]string{"things"})
	var code string
	require.NoError(t, b.wh.QueryRow(context.Background(), `SELECT code FROM things WHERE id = 1`).Scan(&code))
	require.Equal(t, "ab    ", code, "char(6) padding kept")
}
