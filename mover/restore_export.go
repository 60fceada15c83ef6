package mover

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// RestoreExportInPlace replaces a tenant's database with one of its exports (a logical
// backup, or a 'tenant export' archive), like the in-place point-in-time restore: the
// restore is recorded with its source (the file's absolute path and its recorded
// SHA-256, checked again before every use); the customer's sessions end, the current
// database is renamed aside (the kept copy, for o.KeepSource), the archive is restored
// into a new database under the tenant's name, hardened with the same roles and
// password, checked (it opens, goose's version is known, every table's rows are counted
// and summed), then the catalog switches and the app logs in again: the application's
// DSN is unchanged. Killed at any instant, the same call finishes it; reconcile (or
// [Mover.RollBackRestore]) rolls back one that had not switched.
//
// Only an archive the catalog recorded as the tenant's is accepted: a logical backup of
// it, or an export its event log names, by SHA-256. Anything else is refused (exit 2):
// in place, another customer's rows would replace this one's.
func (m *Mover) RestoreExportInPlace(ctx context.Context, o FromExportOptions) (RestoreResult, error) {
	start := time.Now()
	if err := validate.Slug(o.Slug); err != nil {
		return RestoreResult{}, err
	}
	if o.As != "" {
		return RestoreResult{}, validate.Errorf("an in-place restore replaces %q itself: it takes no new slug", o.Slug)
	}
	if err := checkKeep(o.KeepSource, "retention"); err != nil {
		return RestoreResult{}, err
	}
	if o.File == "" {
		return RestoreResult{}, validate.Errorf("an export file is required")
	}
	abs, err := filepath.Abs(o.File)
	if err != nil {
		return RestoreResult{}, validate.Errorf("export file %s: %v", o.File, err)
	}
	t, err := m.Store.GetTenant(ctx, o.Slug)
	if err != nil {
		return RestoreResult{}, err
	}
	res := RestoreResult{Slug: t.Slug, ID: t.ID, Server: t.Server, File: abs}
	if r, ok, err := m.unfinishedRestore(ctx, t.ID); err != nil {
		return res, err
	} else if ok {
		if r.SourceFile != abs {
			return res, validate.Invalid(&InterruptedRestoreError{Slug: t.Slug, Time: r.TargetTime, Step: r.Step, File: r.SourceFile})
		}
		return m.resumeRestore(ctx, res, r, start, "resuming interrupted restore from an export")
	}
	if t.State != catalog.StateActive && t.State != catalog.StateSuspended {
		return res, validate.Invalid(fmt.Errorf("tenant %q is %s: %w (a restore needs an active or suspended tenant)", o.Slug, t.State, provisioner.ErrWrongState))
	}
	if fi, err := os.Stat(abs); err != nil || fi.IsDir() {
		return res, validate.Errorf("export file %s: not a readable file", abs)
	}
	// A recorded logical backup of another tenant, or one changed since, is refused here.
	if _, err := m.VerifyLogicalBackup(ctx, o.Slug, abs); err != nil {
		return res, err
	}
	info, err := inspectDump(ctx, abs, false)
	if err != nil {
		return res, err
	}
	rec, ok, err := m.Store.FindRecordedExport(ctx, t.ID, info.SHA256)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, validate.Errorf("%s (SHA-256 %s) is not a recorded export of tenant %q: neither a logical backup of it nor a 'tenant export' its events name has this sum, "+
			"so it cannot replace the tenant's database in place; bring it in as a new customer with --as NEW-SLUG", abs, info.SHA256, o.Slug)
	}
	if err := m.checkExportVersion(t, info.Version); err != nil {
		return res, err
	}
	if _, err := FindClient("pg_restore"); err != nil {
		return res, err
	}
	return m.startRestore(ctx, res, catalog.Restore{TenantID: t.ID, Slug: t.Slug, TargetTime: rec.TakenAt, KeepSource: keepSource(o.KeepSource), SourceFile: abs, SourceSHA256: info.SHA256},
		start, "restoring tenant in place from an export", "file", abs, "taken", rec.TakenAt.UTC().Format(time.RFC3339))
}

// checkExportVersion refuses an archive whose schema is newer than the tenant's, or
// older while the tenant itself is not at the latest migration (the restored copy is
// migrated to the latest one, which must be the tenant's).
func (m *Mover) checkExportVersion(t catalog.Tenant, v int64) error {
	if v > t.SchemaVersion {
		return validate.Errorf("the export is at schema version %d, newer than tenant %q's (%d): it cannot replace its database", v, t.Slug, t.SchemaVersion)
	}
	if v < t.SchemaVersion {
		latest, err := migrations.Latest(m.Migrations)
		if err != nil {
			return err
		}
		if t.SchemaVersion != latest {
			return validate.Errorf("the export is at schema version %d and tenant %q at %d, not the latest (%d): migrate the tenant first, then restore", v, t.Slug, t.SchemaVersion, latest)
		}
	}
	return nil
}

// checkExportFile checks a restore's source archive before it is used: it is still
// there, unchanged (its SHA-256 as recorded when the restore started), a dump a tenant
// database may come from, at a schema version the tenant takes.
func (m *Mover) checkExportFile(ctx context.Context, r catalog.Restore) (DumpInfo, error) {
	info, err := inspectDump(ctx, r.SourceFile, false)
	if err != nil {
		return info, err
	}
	if info.SHA256 != r.SourceSHA256 {
		return info, fmt.Errorf("%w: %s has SHA-256 %s, recorded %s when the restore started: the file changed", ErrVerify, r.SourceFile, info.SHA256, r.SourceSHA256)
	}
	t, err := m.Store.GetTenantByID(ctx, r.TenantID)
	if err != nil {
		return info, err
	}
	return info, m.checkExportVersion(t, info.Version)
}

// restoreExportFile restores the restore's source archive, checked first, into an
// empty database under the tenant's name (a killed run's partial copy is dropped
// first), as the tenant's owner role: objects owned by it, no foreign owner or grant.
func (m *Mover) restoreExportFile(ctx context.Context, live *tenantdb.Server, r catalog.Restore) error {
	if _, err := m.checkExportFile(ctx, r); err != nil {
		return err
	}
	if err := recreateDatabase(ctx, live, r.TenantID); err != nil {
		return err
	}
	bin, err := FindClient("pg_restore")
	if err != nil {
		return err
	}
	// As the owner's own login (the admin holds no standing membership to take its role).
	restore, err := ownerClientCmd(ctx, bin, live, r.TenantID, "--no-owner", "--no-acl",
		"--exit-on-error", "--single-transaction", "--dbname="+tenantdb.Database(r.TenantID), r.SourceFile)
	if err != nil {
		return err
	}
	if _, err := runClient(restore); err != nil {
		return fmt.Errorf("restore %s: %w", r.SourceFile, err)
	}
	return nil
}

// migrateRestored brings a restored copy older than the tenant's schema up to it (the
// latest migration, checked when the restore started) and hardens it again, so the app
// has DML on tables the migrations created.
func (m *Mover) migrateRestored(ctx context.Context, live *tenantdb.Server, id string) error {
	versions, err := live.AppliedVersions(ctx, id)
	if err != nil {
		return err
	}
	t, err := m.Store.GetTenantByID(ctx, id)
	if err != nil {
		return err
	}
	if len(versions) > 0 && slices.Max(versions) >= t.SchemaVersion {
		return nil
	}
	if err := m.WithOwnerPassword(ctx, id, func(opw string) error {
		_, err := live.Migrate(ctx, id, m.Migrations, tenantdb.MigrateOptions{OwnerPassword: opw})
		return err
	}); err != nil {
		return fmt.Errorf("migrate the restored database to schema version %d: %w", t.SchemaVersion, err)
	}
	return live.Harden(ctx, id)
}

// checkRestored is the check of a database restored from an export, in place under the
// tenant's name: it opens, goose's version is known and is the tenant's, and every
// table's rows are counted and summed.
func (m *Mover) checkRestored(ctx context.Context, live *tenantdb.Server, id string) (int64, []TableSum, error) {
	versions, err := live.AppliedVersions(ctx, id)
	if err != nil {
		return 0, nil, fmt.Errorf("the restored database: %w", err)
	}
	if len(versions) == 0 {
		return 0, nil, errors.New("the restored database has no goose version: its schema version is unknown")
	}
	t, err := m.Store.GetTenantByID(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	if v := slices.Max(versions); v != t.SchemaVersion {
		return v, nil, fmt.Errorf("%w: the restored database is at schema version %d, the tenant at %d", ErrVerify, v, t.SchemaVersion)
	}
	sums, err := Checksums(ctx, live, id)
	return t.SchemaVersion, sums, err
}
