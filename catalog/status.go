package catalog

import (
	"context"

	"github.com/tenantctl/tenantctl/migrations"
)

// Status summarises the catalog for `tenantctl catalog status`.
type Status struct {
	SchemaVersion int64          `json:"schema_version"`
	LatestVersion int64          `json:"latest_version"`
	Servers       int            `json:"servers"`
	Tenants       map[string]int `json:"tenants"`
	Warehouse     *Warehouse     `json:"warehouse"`
	KeyCheck      bool           `json:"key_check_recorded"`
}

// Status reads the catalog's schema version and counts.
func (s *Store) Status(ctx context.Context) (Status, error) {
	st := Status{Tenants: map[string]int{}}
	var err error
	if st.LatestVersion, err = migrations.Latest(migrations.Catalog()); err != nil {
		return st, err
	}
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&st.SchemaVersion); err != nil {
		return st, err
	}
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM servers`).Scan(&st.Servers); err != nil {
		return st, err
	}
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'key_check')`).Scan(&st.KeyCheck); err != nil {
		return st, err
	}
	rows, err := s.pool.Query(ctx, `SELECT state, count(*) FROM tenants GROUP BY state`)
	if err != nil {
		return st, err
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return st, err
		}
		st.Tenants[state] = n
	}
	if err := rows.Err(); err != nil {
		return st, err
	}
	if w, err := s.GetWarehouse(ctx); err == nil {
		st.Warehouse = &w
	}
	return st, nil
}
