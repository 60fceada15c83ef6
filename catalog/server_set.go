package catalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// ServerConnection is where and as whom a server's admin DSN connects.
type ServerConnection struct {
	Host       string
	Port       int
	AdminRole  string
	VersionNum int
}

// SetServerDSN replaces a server's admin DSN (sealed again; the old one is gone) and
// the connection facts recorded with it. The event records where it connects, never
// the DSN.
func (s *Store) SetServerDSN(ctx context.Context, name, dsn string, c ServerConnection) error {
	box, err := s.Box(ctx)
	if err != nil {
		return err
	}
	return s.InTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE servers SET dsn_sealed = $2, host = $3, port = $4, admin_role = $5, version_num = $6,
			updated_at = now() WHERE name = $1`, name, box.SealString(dsn, serverLabel(name)), c.Host, c.Port, c.AdminRole, c.VersionNum)
		if err != nil {
			return fmt.Errorf("server %q: %w", name, staleKeyError(err, box))
		}
		if tag.RowsAffected() == 0 {
			return serverNotFound(name)
		}
		return s.AppendEvent(ctx, tx, Event{Action: "server.set", Details: map[string]any{
			"server": name, "dsn_changed": true, "host": c.Host, "port": c.Port, "admin_role": c.AdminRole,
		}})
	})
}

// SetServerCapacity changes how many tenants a server may hold.
func (s *Store) SetServerCapacity(ctx context.Context, name string, capacity int) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		var live, spares int
		err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM tenants WHERE server = $1 AND state <> 'purged')::int, s.spares
			FROM servers s WHERE s.name = $1 FOR UPDATE`, name).Scan(&live, &spares)
		if errors.Is(err, pgx.ErrNoRows) {
			return serverNotFound(name)
		}
		if err != nil {
			return err
		}
		if capacity < live {
			return validate.Errorf("server %q holds %d tenants: a capacity of %d is below that (move tenants away first)", name, live, capacity)
		}
		if _, err := tx.Exec(ctx, `UPDATE servers SET capacity = $2, updated_at = now() WHERE name = $1`, name, capacity); err != nil {
			return err
		}
		return s.AppendEvent(ctx, tx, Event{Action: "server.set", Details: map[string]any{"server": name, "capacity": capacity}})
	})
}

// SetServerLabels replaces a server's labels. A tenant on the server whose placement
// requirements (its labels) the new labels no longer meet is refused, named.
func (s *Store) SetServerLabels(ctx context.Context, name string, labels map[string]string) error {
	if labels == nil {
		labels = map[string]string{}
	}
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if err := updateServer(ctx, tx, name, `labels = $2`, labels); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT slug FROM tenants WHERE server = $1 AND state <> 'purged' AND NOT ($2::jsonb @> labels::jsonb) ORDER BY slug`,
			name, labels)
		if err != nil {
			return err
		}
		misplaced, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(misplaced) > 0 {
			return validate.Errorf("server %q: tenants placed there require labels these would not have: %v (move them first, or keep the labels)", name, misplaced)
		}
		return s.AppendEvent(ctx, tx, Event{Action: "server.set", Details: map[string]any{"server": name, "labels": labels}})
	})
}

// SetWarehouseDSN replaces the warehouse's DSN (sealed again; the old one is gone).
func (s *Store) SetWarehouseDSN(ctx context.Context, w Warehouse, dsn string) error {
	box, err := s.Box(ctx)
	if err != nil {
		return err
	}
	return s.InTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE warehouse SET dsn_sealed = $1, host = $2, port = $3, database = $4 WHERE id = 1`,
			box.SealString(dsn, warehouseLabel), w.Host, w.Port, w.Database)
		if err != nil {
			return fmt.Errorf("warehouse: %w", staleKeyError(err, box))
		}
		if tag.RowsAffected() == 0 {
			return ErrNoWarehouse
		}
		return s.AppendEvent(ctx, tx, Event{Action: "warehouse.set", Details: map[string]any{
			"dsn_changed": true, "host": w.Host, "port": w.Port, "database": w.Database,
		}})
	})
}
