package catalog

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/validate"
)

// stepRecords is a table of tenant operations recorded step by step (a move, an
// in-place restore). A row is in progress with the status named like the state its
// tenant is in meanwhile, may switch, and settles once: rolled back or done.
type stepRecords struct {
	what  string // "move", "restore": how errors name a row
	table string
	state string // the row's status and the tenant's state while in progress
	// busy are the tenant states in which a new row is refused with inProgress, and
	// done says, in "only an active or suspended tenant can be %s", what a row does.
	busy       []string
	inProgress error
	done       string
}

var (
	moveRecords = stepRecords{what: "move", table: "tenant_moves", state: StateMoving,
		busy: []string{StateMoving}, inProgress: ErrMoveInProgress, done: "moved"}
	restoreRecords = stepRecords{what: "restore", table: "tenant_restores", state: StateRestoring,
		busy: []string{StateRestoring, StateMoving}, inProgress: ErrRestoreInProgress, done: "restored in place"}
)

// begin locks the tenant's row for the rest of tx and returns its state and server: a
// row starts only from the state read under that lock, which must be active or
// suspended (a busy state is k.inProgress, invalid input).
func (k stepRecords) begin(ctx context.Context, tx pgx.Tx, tenantID string) (state, server string, err error) {
	err = tx.QueryRow(ctx, `SELECT state, coalesce(server, '') FROM tenants WHERE id = $1 FOR UPDATE`, tenantID).Scan(&state, &server)
	if err != nil {
		return "", "", fmt.Errorf("tenant id %q: %w", tenantID, err)
	}
	if slices.Contains(k.busy, state) {
		return "", "", validate.Invalid(k.inProgress)
	}
	if state != StateActive && state != StateSuspended {
		return "", "", validate.Errorf("tenant is %s: only an active or suspended tenant can be %s", state, k.done)
	}
	return state, server, nil
}

// started puts the tenant in k.state once its row is inserted (insertErr is the
// insert's error): the table holds one open row a tenant, so a unique violation is a
// row another process started, k.inProgress.
func (k stepRecords) started(ctx context.Context, tx pgx.Tx, tenantID string, insertErr error) error {
	if dbconn.HasCode(insertErr, pgerrcode.UniqueViolation) {
		return validate.Invalid(k.inProgress)
	}
	if insertErr != nil {
		return fmt.Errorf("record %s: %w", k.what, insertErr)
	}
	_, err := tx.Exec(ctx, `UPDATE tenants SET state = $2, updated_at = now() WHERE id = $1`, tenantID, k.state)
	return err
}

// rollBack marks row id, still in progress, rolled back with reason and gives its
// tenant priorState back, in tx. It reports false, changing nothing, when the row had
// already settled.
func (k stepRecords) rollBack(ctx context.Context, tx pgx.Tx, id int64, tenantID, priorState, reason string) (bool, error) {
	tag, err := tx.Exec(ctx, `UPDATE `+k.table+` SET status = 'rolled-back', step = 'rolled-back', finished_at = now(),
		last_error = NULLIF($2, '') WHERE id = $1 AND status = $3`, id, reason, k.state)
	if err != nil {
		return false, fmt.Errorf("record %s %d: %w", k.what, id, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE tenants SET state = $2, updated_at = now() WHERE id = $1 AND state = $3`,
		tenantID, priorState, k.state); err != nil {
		return false, err
	}
	return true, nil
}

// finish marks row id, switched, done at step, in tx. It reports false, changing
// nothing, when the row was not switched.
func (k stepRecords) finish(ctx context.Context, tx pgx.Tx, id int64, step string) (bool, error) {
	tag, err := tx.Exec(ctx, `UPDATE `+k.table+` SET status = 'done', step = $2, finished_at = now()
		WHERE id = $1 AND status = 'switched'`, id, step)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}

// copiesByServer reads the databases a query of (server, key, value) rows says the
// catalog expects on servers because of a move or a restore, by server then key.
func copiesByServer[V any](ctx context.Context, s *Store, what, query string) (map[string]map[string]V, error) {
	rows, err := s.pool.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("list %s copies: %w", what, err)
	}
	defer rows.Close()
	out := map[string]map[string]V{}
	for rows.Next() {
		var server, key string
		var v V
		if err := rows.Scan(&server, &key, &v); err != nil {
			return nil, err
		}
		if out[server] == nil {
			out[server] = map[string]V{}
		}
		out[server][key] = v
	}
	return out, rows.Err()
}
