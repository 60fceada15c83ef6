package catalog

import (
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// ValidDatabaseName checks a database name an operator gives: 1 to 63 bytes of plain
// text (PostgreSQL's limit; quoting handles the rest).
func ValidDatabaseName(db string) error {
	if db == "" || len(db) > 63 {
		return validate.Errorf("invalid database name %q: it must be 1 to 63 bytes", db)
	}
	return validate.PlainText("database name", db)
}

// AllowDatabases declares (allow) or withdraws (!allow) databases on a server: the
// operator's own connectable databases, which the audit then does not report as
// unknown (it still probes them with tenant credentials). Idempotent.
func (s *Store) AllowDatabases(ctx context.Context, server string, dbs []string, allow bool) error {
	for _, db := range dbs {
		if err := ValidDatabaseName(db); err != nil {
			return err
		}
	}
	return s.InTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM servers WHERE name = $1)`, server).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return serverNotFound(server)
		}
		for _, db := range dbs {
			q := `INSERT INTO server_allowed_databases (server, datname) VALUES ($1, $2) ON CONFLICT DO NOTHING`
			if !allow {
				q = `DELETE FROM server_allowed_databases WHERE server = $1 AND datname = $2`
			}
			if _, err := tx.Exec(ctx, q, server, db); err != nil {
				return err
			}
		}
		key := "allow_databases"
		if !allow {
			key = "disallow_databases"
		}
		return s.AppendEvent(ctx, tx, Event{Action: "server.set", Details: map[string]any{"server": server, key: dbs}})
	})
}

// AllowedDatabases returns the databases declared on every server, by server name,
// each list sorted.
func (s *Store) AllowedDatabases(ctx context.Context) (map[string][]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT server, datname FROM server_allowed_databases ORDER BY server, datname`)
	if err != nil {
		return nil, fmt.Errorf("list allowed databases: %w", err)
	}
	out := map[string][]string{}
	var server, db string
	_, err = pgx.ForEachRow(rows, []any{&server, &db}, func() error {
		out[server] = append(out[server], db)
		return nil
	})
	for _, list := range out {
		sort.Strings(list)
	}
	return out, err
}
