package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

const warehouseLabel = "warehouse/dsn"

// Warehouse is the registered warehouse, without its DSN.
type Warehouse struct {
	Host         string    `json:"host"`
	Port         int       `json:"port"`
	Database     string    `json:"database"`
	RegisteredAt time.Time `json:"registered_at"`
}

// RegisterWarehouse records (or replaces) the warehouse and its sealed DSN.
func (s *Store) RegisterWarehouse(ctx context.Context, w Warehouse, dsn string) error {
	box, err := s.Box(ctx)
	if err != nil {
		return err
	}
	return s.InTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			INSERT INTO warehouse (id, dsn_sealed, host, port, database) VALUES (1, $1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET dsn_sealed = EXCLUDED.dsn_sealed, host = EXCLUDED.host,
				port = EXCLUDED.port, database = EXCLUDED.database, registered_at = now()`,
			box.SealString(dsn, warehouseLabel), w.Host, w.Port, w.Database)
		if err != nil {
			return fmt.Errorf("register warehouse: %w", staleKeyError(err, box))
		}
		return s.AppendEvent(ctx, tx, Event{Action: "warehouse.register", Details: map[string]any{
			"host": w.Host, "port": w.Port, "database": w.Database,
		}})
	})
}

// GetWarehouse returns the registered warehouse or [ErrNoWarehouse].
func (s *Store) GetWarehouse(ctx context.Context) (Warehouse, error) {
	var w Warehouse
	err := s.pool.QueryRow(ctx, `SELECT host, port, database, registered_at FROM warehouse WHERE id = 1`).
		Scan(&w.Host, &w.Port, &w.Database, &w.RegisteredAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return w, ErrNoWarehouse
	}
	return w, err
}

// WarehouseDSN returns the warehouse DSN, unsealed, or [ErrNoWarehouse].
func (s *Store) WarehouseDSN(ctx context.Context) (string, error) {
	return s.unseal(ctx, warehouseLabel, ErrNoWarehouse, `SELECT dsn_sealed FROM warehouse WHERE id = 1`)
}
