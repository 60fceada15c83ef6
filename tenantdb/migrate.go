package tenantdb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// AppliedVersions returns the migration versions recorded in the tenant database's goose
// table, ascending (version 0, goose's bootstrap row, left out). A database without the
// table has none. It reads without goose's session lock, so it never waits for a
// migration in progress; it sees what is committed. goose's table is the owner's: it
// reads as the owner ([Server.OwnerConnConfig]).
func (s *Server) AppliedVersions(ctx context.Context, id string) ([]int64, error) {
	conn, err := s.connectOwner(ctx, id)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return appliedVersions(ctx, conn)
}

func appliedVersions(ctx context.Context, conn *pgx.Conn) ([]int64, error) {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('public.goose_db_version') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, fmt.Errorf("read migration versions: %w", err)
	}
	if !exists {
		return nil, nil
	}
	rows, err := conn.Query(ctx, `SELECT DISTINCT version_id FROM public.goose_db_version WHERE version_id > 0 ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("read migration versions: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("read migration versions: %w", err)
	}
	return versions, nil
}
