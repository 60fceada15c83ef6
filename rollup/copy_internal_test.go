package rollup

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
)

func TestPipeNamesTheSideThatFailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := pgtest.Get(t)
	db := env.Control.NewDatabase(t, "pipe")
	env.Control.Exec(t, db, `CREATE TABLE src (id bigint, note text)`, `CREATE TABLE dst (id bigint PRIMARY KEY, note text)`,
		`CREATE TABLE picky (id bigint CHECK (id > 100), note text)`,
		`INSERT INTO src SELECT g, 'row ' || g FROM generate_series(1, 50000) g`, `INSERT INTO src VALUES (7, 'duplicate')`)
	src, dst := env.Control.Conn(t, db), env.Control.Conn(t, db)

	n, err := pipe(ctx, src.PgConn(), dst.PgConn(), `COPY (SELECT * FROM src WHERE id <> 7 OR note = 'row 7') TO STDOUT (FORMAT binary)`,
		`COPY dst FROM STDIN (FORMAT binary)`, nil)
	require.NoError(t, err)
	require.Equal(t, int64(50000), n)

	env.Control.Exec(t, db, `TRUNCATE dst`)
	_, err = pipe(ctx, src.PgConn(), dst.PgConn(), `COPY (SELECT id, note || (1 / (id - 40000))::text FROM src) TO STDOUT (FORMAT binary)`,
		`COPY dst FROM STDIN (FORMAT binary)`, nil)
	require.ErrorContains(t, err, "read from tenant")
	require.ErrorContains(t, err, "division by zero")

	// The destination fails at its first rows while the source still streams: the
	// source is stopped, and the destination's error is the one reported.
	src2, dst2 := env.Control.Conn(t, db), env.Control.Conn(t, db)
	_, err = pipe(ctx, src2.PgConn(), dst2.PgConn(), `COPY src TO STDOUT (FORMAT binary)`, `COPY picky FROM STDIN (FORMAT binary)`, nil)
	require.ErrorContains(t, err, "write to warehouse")
	require.ErrorContains(t, err, "picky_id_check")

	// A ready step runs on the destination while the source already streams: its
	// statements land before the COPY; when it fails, the source is stopped and its
	// error is the one reported, as it is.
	src3, dst3 := env.Control.Conn(t, db), env.Control.Conn(t, db)
	n, err = pipe(ctx, src3.PgConn(), dst3.PgConn(), `COPY (SELECT * FROM src WHERE id <> 7 OR note = 'row 7') TO STDOUT (FORMAT binary)`,
		`COPY dst FROM STDIN (FORMAT binary)`, func(ctx context.Context) error {
			_, err := dst3.Exec(ctx, `TRUNCATE dst`)
			return err
		})
	require.NoError(t, err)
	require.Equal(t, int64(50000), n)
	src4, dst4 := env.Control.Conn(t, db), env.Control.Conn(t, db)
	ready := errors.New("ready failed")
	_, err = pipe(ctx, src4.PgConn(), dst4.PgConn(), `COPY src TO STDOUT (FORMAT binary)`, `COPY dst FROM STDIN (FORMAT binary)`,
		func(context.Context) error { return ready })
	require.Equal(t, ready, err)
	var rows int64
	require.NoError(t, dst4.QueryRow(ctx, `SELECT count(*) FROM dst`).Scan(&rows))
	require.Equal(t, int64(50000), rows, "nothing was copied after the ready step failed")
}
