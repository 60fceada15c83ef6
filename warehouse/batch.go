package warehouse

import (
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The Queue functions put the statements of [LockTenant], [Watermarks],
// [DescribeTables], [SaveWatermark], [UpsertTenant] and the tenant lock's release on a
// pgx.Batch, so that a caller sends several of them in one round trip (a rollup does a
// tenant's reads in one and its watermarks, dimension row, commit and unlock in
// another). Results land in the given maps when the batch is sent; errors are those of
// the unqueued forms.

// QueueLockTenant queues the session advisory lock of [LockTenant]. Release it with
// [QueueUnlockTenant], or by closing the connection.
func QueueLockTenant(b *pgx.Batch, tenantID string) {
	b.Queue(lockTenantSQL, tenantID).Fn = func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return lockTenantError(tenantID, err)
		}
		return nil
	}
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
	b.Queue(watermarksSQL, tenantID).Fn = func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("read watermarks: %w", err)
		}
		marks, err := scanWatermarks(rows)
		if err != nil {
			return err
		}
		*out = marks[tenantID]
		return nil
	}
}

// QueueDescribeTables queues [DescribeTables]; *out holds the tables once the batch is
// sent.
func QueueDescribeTables(b *pgx.Batch, names []string, out *map[string]Table) {
	b.Queue(describeTables, names).Fn = func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("describe warehouse tables: %w", err)
		}
		tables, err := scanTables(rows)
		if err != nil {
			return err
		}
		*out = tables
		return nil
	}
}

// QueueSaveWatermark queues [SaveWatermark]: queue it in the transaction that wrote the
// rows.
func QueueSaveWatermark(b *pgx.Batch, w Watermark) {
	b.Queue(saveWatermarkSQL, saveWatermarkArgs(w)...).Fn = func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("save watermark of %s: %w", w.Table, err)
		}
		return nil
	}
}

// QueueUpsertTenant queues [UpsertTenant].
func QueueUpsertTenant(b *pgx.Batch, t Tenant) {
	b.Queue(upsertTenantSQL, t.ID, t.Slug, t.Name, t.Domain, t.Server, t.State).Fn = func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("update warehouse tenant dimension: %w", err)
		}
		return nil
	}
}
