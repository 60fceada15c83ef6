package mover

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// TableSum is one table's row count and checksum.
type TableSum struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
	// Sum is the sum over rows of a 64-bit hash of each row's text: equal multisets of
	// rows give equal sums, whatever their physical order.
	Sum string `json:"checksum"`
}

// Verification is what [verify] compared.
type Verification struct {
	Tables []TableSum
	Rows   int64
}

// sumsSQL lists the user tables and sequences of a database; the checksums are then
// taken table by table.
const tablesSQL = `
	SELECT n.nspname, c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE c.relkind IN ('r', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
	  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
	ORDER BY 1, 2`

// Checksums reads the row count and checksum of every table (and the state of every
// sequence) of a tenant database, as its owner with row security off.
func Checksums(ctx context.Context, srv *tenantdb.Server, id string) ([]TableSum, error) {
	cfg, err := srv.OwnerConnConfig(ctx, id)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["row_security"] = "off"
	cfg.RuntimeParams["statement_timeout"] = "0"
	// Row text must read the same on both servers.
	cfg.RuntimeParams["timezone"] = "UTC"
	cfg.RuntimeParams["datestyle"] = "ISO, YMD"
	cfg.RuntimeParams["intervalstyle"] = "postgres"
	cfg.RuntimeParams["extra_float_digits"] = "3"
	cfg.RuntimeParams["bytea_output"] = "hex"
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, dbconn.ConnectError(cfg.Host, cfg.Port, cfg.Database, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// One snapshot for every table.
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only
	rows, err := tx.Query(ctx, tablesSQL)
	if err != nil {
		return nil, fmt.Errorf("list tables of %s on %s: %w", cfg.Database, srv.Name, err)
	}
	type rel struct{ schema, name, kind string }
	rels, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rel, error) {
		var x rel
		err := r.Scan(&x.schema, &x.name, &x.kind)
		return x, err
	})
	if err != nil {
		return nil, err
	}
	out := make([]TableSum, 0, len(rels))
	for _, r := range rels {
		name := pgx.Identifier{r.schema, r.name}.Sanitize()
		s := TableSum{Table: r.schema + "." + r.name}
		var q string
		if r.kind == "S" {
			q = `SELECT 1::bigint, last_value::text || '/' || is_called::text FROM ` + name
		} else {
			q = `SELECT count(*), coalesce(sum(hashtextextended(x::text, 0)::numeric), 0)::text FROM ` + name + ` AS x`
		}
		if err := tx.QueryRow(ctx, q).Scan(&s.Rows, &s.Sum); err != nil {
			return nil, fmt.Errorf("checksum %s of %s on %s: %w", s.Table, cfg.Database, srv.Name, err)
		}
		if r.kind == "S" {
			s.Table += " (sequence)"
			s.Rows = 0
		}
		out = append(out, s)
	}
	return out, nil
}

// verify compares the source and target copies of a tenant database, both read at
// once: every table with the same rows (count and checksum) and every sequence at the
// same value.
func verify(ctx context.Context, src, dst *tenantdb.Server, id string) (Verification, error) {
	type result struct {
		sums []TableSum
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := Checksums(ctx, dst, id)
		ch <- result{s, err}
	}()
	a, aerr := Checksums(ctx, src, id)
	b := <-ch
	if aerr != nil {
		return Verification{}, aerr
	}
	if b.err != nil {
		return Verification{}, b.err
	}
	v := Verification{Tables: a}
	var diffs []string
	bm := map[string]TableSum{}
	for _, s := range b.sums {
		bm[s.Table] = s
	}
	for _, s := range a {
		v.Rows += s.Rows
		o, ok := bm[s.Table]
		switch {
		case !ok:
			diffs = append(diffs, s.Table+" is missing on the target")
		case o.Rows != s.Rows || o.Sum != s.Sum:
			diffs = append(diffs, fmt.Sprintf("%s: %d rows (checksum %s) on the source, %d (%s) on the target", s.Table, s.Rows, s.Sum, o.Rows, o.Sum))
		}
		delete(bm, s.Table)
	}
	for t := range bm {
		diffs = append(diffs, t+" exists only on the target")
	}
	if len(diffs) > 0 {
		return v, fmt.Errorf("%w: %s", ErrVerify, strings.Join(diffs, "; "))
	}
	return v, nil
}
