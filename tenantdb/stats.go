package tenantdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// Stats counts the rows of each table (names may be schema-qualified; tables missing
// from the database are left out) and measures the database's size: one login and one
// statement, one round trip, when every table exists; when one is missing, one more
// round trip finds which exist. It reads as the owner (the tables are the owner's to
// read; the admin holds no standing membership in the owner): the owner's login when
// known (see [Server.OwnerConnConfig]).
func (s *Server) Stats(ctx context.Context, id string, tables []string) (Stats, error) {
	st := Stats{Rows: map[string]int64{}}
	conn, err := s.connectOwner(ctx, id)
	if err != nil {
		return st, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	err = countRows(ctx, conn, tables, &st)
	if !dbconn.HasCode(err, pgerrcode.UndefinedTable) {
		return st, err
	}
	var present []string
	qualified := make([]string, len(tables))
	for i, t := range tables {
		qualified[i] = qualify(t)
	}
	rows, err := conn.Query(ctx, `SELECT n FROM unnest($1::text[]) WITH ORDINALITY AS q(name, n) WHERE to_regclass(name) IS NOT NULL ORDER BY n`,
		qualified)
	if err != nil {
		return st, err
	}
	idx, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return st, err
	}
	for _, i := range idx {
		present = append(present, tables[i-1])
	}
	st.Rows = map[string]int64{}
	return st, countRows(ctx, conn, present, &st)
}

// countRows reads the database size and every table's row count in one statement.
// Names are quoted client-side; the statement has no parameters, so it goes out in the
// simple protocol: one round trip, no prepare.
func countRows(ctx context.Context, conn *pgx.Conn, tables []string, st *Stats) error {
	var q strings.Builder
	q.WriteString("SELECT pg_database_size(current_database())")
	for _, t := range tables {
		q.WriteString(", (SELECT count(*) FROM " + identQualified(t) + ")")
	}
	counts := make([]int64, len(tables))
	dest := make([]any, 0, len(tables)+1)
	dest = append(dest, &st.SizeBytes)
	for i := range counts {
		dest = append(dest, &counts[i])
	}
	if err := conn.QueryRow(ctx, q.String(), pgx.QueryExecModeSimpleProtocol).Scan(dest...); err != nil {
		if dbconn.HasCode(err, pgerrcode.UndefinedTable) {
			return err
		}
		return fmt.Errorf("count rows of %s: %w", strings.Join(tables, ", "), err)
	}
	for i, t := range tables {
		st.Rows[t] = counts[i]
	}
	return nil
}
