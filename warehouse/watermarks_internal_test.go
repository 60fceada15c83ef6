package warehouse

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// One tenant's watermarks are read by the key in the plan a pooled connection keeps
// for any tenant (a generic plan), so a rollup neither plans the statement again for
// each tenant nor reads every tenant's watermarks.
func TestOneTenantsWatermarksUseTheKeyInAGenericPlan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := pgtest.Get(t)
	dsn := env.Control.SuperDSN(env.Control.NewDatabase(t, "warehouse"))
	_, err := Init(ctx, dsn)
	require.NoError(t, err)
	conn, err := dbconn.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `INSERT INTO tenantctl.watermarks (tenant_id, table_name)
		SELECT 't' || g, tb FROM generate_series(1, 2000) g, unnest(ARRAY['a', 'b', 'c']) tb`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `ANALYZE tenantctl.watermarks`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `PREPARE marks(text) AS `+watermarksSQL)
	require.NoError(t, err)
	rows, err := conn.Query(ctx, `EXPLAIN EXECUTE marks('t7')`, pgx.QueryExecModeSimpleProtocol)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	plan := strings.Join(lines, "\n")
	require.Contains(t, plan, "watermarks_pkey", plan)
	require.NotContains(t, plan, "Seq Scan", plan)

	got, err := Watermarks(ctx, conn, "t7")
	require.NoError(t, err)
	require.Len(t, got["t7"], 3)
	require.Len(t, got, 1)
	all, err := Watermarks(ctx, conn, "")
	require.NoError(t, err)
	require.Len(t, all, 2000)
}
