package tenantdb

import (
	"context"
)

// DatabaseSizes returns the size in bytes of the tenant databases of ids that exist on
// the server, in one query on the admin connection. pg_database_size reads every file
// of a database: ask for the few a page shows, never the whole fleet on a hot path.
func (s *Server) DatabaseSizes(ctx context.Context, ids []string) (map[string]int64, error) {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = Database(id)
	}
	conn, release, err := s.admin(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	rows, err := conn.Query(ctx, `SELECT datname, pg_database_size(oid) FROM pg_database WHERE datname = ANY($1)`, names)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var size int64
		if err := rows.Scan(&name, &size); err != nil {
			return nil, err
		}
		out[name[len("t_"):]] = size
	}
	return out, rows.Err()
}
