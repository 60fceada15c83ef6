package warehouse

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The Queue functions put the statements of [LockTenant], [Watermarks],
// [DescribeTables], [SaveWatermark] (of many at once), [UpsertTenant] and the tenant lock's release on a
// pgx.Batch, so that a caller sends several of them in one round trip (a rollup does a
// tenant's reads in one and its watermarks, dimension row, commit and unlock in
// another). Results land in the given maps when the batch is sent; errors are those of
// the unqueued forms.

// QueueLockTenant queues the session advisory lock of [LockTenant]. Release it with
// [QueueUnlockTenant], or by closing the connection.
func QueueLockTenant(b *pgx.Batch, tenantID string) {
	queueExec(b, func(err error) error { return lockTenantError(tenantID, err) }, lockTenantSQL, tenantID)
}

// QueueUnlockTenant queues the release of the lock [QueueLockTenant] took. Its failure
// is no error of the batch: *released stays false, and closing the connection releases
// the lock instead.
func QueueUnlockTenant(b *pgx.Batch, tenantID string, released *bool) {
	b.Queue(unlockTenantSQL, tenantID).Fn = func(br pgx.BatchResults) error {
		_, err := br.Exec()
		*released = err == nil
		return nil
	}
}

// QueueWatermarks queues [Watermarks] for one tenant; *out holds them, by table, once
// the batch is sent.
func QueueWatermarks(b *pgx.Batch, tenantID string, out *map[string]Watermark) {
	queueRows(b, "read watermarks", scanWatermarks, func(marks map[string]map[string]Watermark) { *out = marks[tenantID] },
		watermarksSQL, tenantID)
}

// QueueDescribeTables queues [DescribeTables]; *out holds the tables once the batch is
// sent.
func QueueDescribeTables(b *pgx.Batch, names []string, out *map[string]Table) {
	queueRows(b, "describe warehouse tables", scanTables, func(tables map[string]Table) { *out = tables }, describeTables, names)
}

// QueueSaveWatermarks queues [SaveWatermark] of every watermark in ws as one statement
// (one row each): what a run of a tenant writes after copying its tables costs one
// statement however many tables it has. No two of ws may name the same tenant and
// table. Queue it in the transaction that wrote the rows.
func QueueSaveWatermarks(b *pgx.Batch, ws []Watermark) {
	if len(ws) == 0 {
		return
	}
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.Table
	}
	queueExec(b, func(err error) error { return fmt.Errorf("save watermarks of %s: %w", strings.Join(names, ", "), err) },
		saveWatermarksSQL, saveWatermarksArgs(ws)...)
}

// saveWatermarksArgs are saveWatermarksSQL's parameters for ws.
func saveWatermarksArgs(ws []Watermark) []any {
	n := len(ws)
	ids, tables, sources, sigs, modes := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	xmins, counts := make([]*int64, n), make([]*int64, n)
	copied, deleted := make([]int64, n), make([]int64, n)
	for i, w := range ws {
		ids[i], tables[i], sources[i], sigs[i], modes[i] = w.TenantID, w.Table, w.Source, w.Signature, w.Mode
		xmins[i], counts[i], copied[i], deleted[i] = w.Xmin, w.RowCount, w.RowsCopied, w.RowsDeleted
	}
	return []any{ids, tables, xmins, sources, sigs, modes, copied, deleted, counts}
}

// QueueSaveRun queues, as one statement, what a rollup of tenant t writes after its
// rows: the watermarks ws (as [QueueSaveWatermarks]; every one of tenant t) and t's row
// of the tenant dimension (as [QueueUpsertTenant]). Queue it in the transaction that
// wrote the rows.
func QueueSaveRun(b *pgx.Batch, ws []Watermark, t Tenant) {
	if len(ws) == 0 {
		QueueUpsertTenant(b, t)
		return
	}
	args := saveWatermarksArgs(ws)
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.Table
	}
	args = append(args, t.ID, t.Slug, t.Name, t.Domain, t.Server, t.State)
	queueExec(b, func(err error) error {
		return fmt.Errorf("save watermarks of %s and the tenant dimension: %w", strings.Join(names, ", "), err)
	}, saveRunSQL, args...)
}

// saveRunSQL is saveWatermarksSQL ($1–$9) and upsertTenantSQL ($10–$15) in one statement.
const saveRunSQL = `WITH marks AS (` + saveWatermarksSQL + `)
		INSERT INTO tenantctl.tenants (id, slug, name, domain, server, state) VALUES ($10, $11, $12, $13, $14, $15)
		ON CONFLICT (id) DO UPDATE SET slug = EXCLUDED.slug, name = EXCLUDED.name, domain = EXCLUDED.domain,
			server = EXCLUDED.server, state = EXCLUDED.state, updated_at = now()`

// QueueUpsertTenant queues [UpsertTenant].
func QueueUpsertTenant(b *pgx.Batch, t Tenant) {
	queueExec(b, func(err error) error { return fmt.Errorf("update warehouse tenant dimension: %w", err) },
		upsertTenantSQL, t.ID, t.Slug, t.Name, t.Domain, t.Server, t.State)
}

// queueExec queues a statement without rows; fail words its error.
func queueExec(b *pgx.Batch, fail func(error) error, sql string, args ...any) {
	b.Queue(sql, args...).Fn = func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return fail(err)
		}
		return nil
	}
}

// queueRows queues a query whose rows scan reads (a failed query is worded "what: …");
// keep receives what scan returned once the batch is sent.
func queueRows[T any](b *pgx.Batch, what string, scan func(pgx.Rows) (T, error), keep func(T), sql string, args ...any) {
	b.Queue(sql, args...).Fn = func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		v, err := scan(rows)
		if err != nil {
			return err
		}
		keep(v)
		return nil
	}
}
