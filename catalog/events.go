package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Event is one entry of the append-only event log: who did what, when, to which tenant.
// Details never hold secrets.
type Event struct {
	ID       int64          `json:"id"`
	At       time.Time      `json:"at"`
	Actor    string         `json:"actor"`
	Action   string         `json:"action"`
	TenantID string         `json:"tenant_id,omitempty"`
	Slug     string         `json:"slug,omitempty"`
	Details  map[string]any `json:"details,omitempty"`
}

// AppendEvent appends e on q (the pool, or the transaction making the change it records).
func (s *Store) AppendEvent(ctx context.Context, q DBTX, e Event) error {
	if q == nil {
		q = s.pool
	}
	actor, details, err := e.row(s.actor(ctx))
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx, `INSERT INTO events (actor, action, tenant_id, slug, details) VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, ''), $5)`,
		actor, e.Action, e.TenantID, e.Slug, details)
	if err != nil {
		return fmt.Errorf("append event %s: %w", e.Action, err)
	}
	return nil
}

// row returns what the events table stores for e: its actor (by default the one given)
// and its details as JSON ({} when there are none).
func (e Event) row(defaultActor string) (actor string, details []byte, err error) {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	if details, err = json.Marshal(e.Details); err != nil {
		return "", nil, err
	}
	actor = e.Actor
	if actor == "" {
		actor = defaultActor
	}
	return actor, details, nil
}

// ListEvents returns the newest events first, for one tenant slug when slug is set.
func (s *Store) ListEvents(ctx context.Context, slug string, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `
		SELECT id, at, actor, action, coalesce(tenant_id, ''), coalesce(slug, ''), details
		FROM events
		WHERE $1 = '' OR slug = $1
		ORDER BY id DESC
		LIMIT $2`, slug, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.TenantID, &e.Slug, &e.Details); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
