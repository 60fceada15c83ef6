package mover

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tenantctl/tenantctl/backup"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// In-place restore steps, recorded in tenant_restores.step as each one completes.
const (
	RestorePlanned   = "planned"
	RestoreScratch   = "scratch"
	RestoreSuspended = "suspended"
	RestoreRenamed   = "renamed"
	RestoreCopied    = "copied"
	RestoreHardened  = "hardened"
	RestoreVerified  = "verified"
	RestoreSwitched  = "switched"
	RestoreResumed   = "resumed"
)

var restoreSteps = []string{RestorePlanned, RestoreScratch, RestoreSuspended, RestoreRenamed, RestoreCopied,
	RestoreHardened, RestoreVerified, RestoreSwitched, RestoreResumed}

// RestoreOptions describe a point-in-time restore of one tenant.
type RestoreOptions struct {
	Slug string
	// Time is the point in time to restore to.
	Time time.Time
	// As, when set, brings the restored database in as a new tenant with this slug
	// (AsName and AsDomain default to the source's name, marked restored, and domain);
	// the source tenant is not touched.
	As, AsName, AsDomain string
	// KeepSource is how long the replaced database stays (renamed, no login can reach
	// it) after an in-place restore; nil means [DefaultKeepSource], 0 drops it at once.
	KeepSource *time.Duration
	// ScratchRoot is where scratch instances are made; empty means the system's
	// temporary directory.
	ScratchRoot string
	// RestoreHost, when set, is where the scratch instances run (over SSH) instead of
	// this host; ScratchRoot is then a directory there.
	RestoreHost *backup.RestoreHost
	DryRun      bool
}

// Validate checks the options without touching anything.
func (o *RestoreOptions) Validate() error {
	if err := validate.Slug(o.Slug); err != nil {
		return err
	}
	if o.Time.IsZero() {
		return validate.Errorf("a time to restore to is required")
	}
	if o.Time.After(time.Now()) {
		return validate.Errorf("the restore time %s is in the future", o.Time.UTC().Format(time.RFC3339))
	}
	if o.As != "" {
		if err := validate.Slug(o.As); err != nil {
			return err
		}
		if o.As == o.Slug {
			return validate.Errorf("the new tenant's slug must differ from %q (restore in place without it)", o.Slug)
		}
	}
	if err := checkKeep(o.KeepSource, "retention"); err != nil {
		return err
	}
	if o.ScratchRoot != "" && !filepath.IsAbs(o.ScratchRoot) {
		return validate.Errorf("the scratch directory %q must be an absolute path", o.ScratchRoot)
	}
	if o.RestoreHost != nil {
		return o.RestoreHost.Validate()
	}
	return nil
}

// scratchLocation is where the scratch instance named name is made: a directory under
// the scratch root, on the restore host when there is one.
func (o RestoreOptions) scratchLocation(name string) (string, error) {
	dir := filepath.Join(o.scratchRoot(), name)
	if o.RestoreHost == nil {
		return dir, nil
	}
	return o.RestoreHost.Location(dir)
}

func (o RestoreOptions) keep() time.Duration { return keepSource(o.KeepSource) }

func (o RestoreOptions) scratchRoot() string {
	if o.ScratchRoot != "" {
		return o.ScratchRoot
	}
	return filepath.Join(os.TempDir(), "tenantctl-restore")
}

// RestoreResult is the outcome of a restore.
type RestoreResult struct {
	Slug   string         `json:"slug"`
	ID     string         `json:"id"`
	Server string         `json:"server"`
	Time   time.Time      `json:"time"`
	Window *backup.Window `json:"window,omitempty"`
	// As is the new tenant's slug for a restore as a new customer.
	As string `json:"as,omitempty"`
	// File is the export restored from, for a restore from an export (Time is then
	// when it was taken).
	File string `json:"file,omitempty"`
	// Status is the restore's status (switched, done, rolled-back), "imported" for one
	// as a new customer, or "planned" for a dry run.
	Status          string        `json:"status"`
	Tables          int           `json:"tables,omitempty"`
	Rows            int64         `json:"rows,omitempty"`
	SchemaVersion   int64         `json:"schema_version,omitempty"`
	KeptDB          string        `json:"kept_db,omitempty"`
	KeepSourceUntil *time.Time    `json:"keep_source_until,omitempty"`
	Downtime        time.Duration `json:"downtime_ns,omitempty"`
	Duration        time.Duration `json:"duration_ns"`
}

// InterruptedRestoreError is returned by [Mover.Restore] when the tenant has an
// interrupted restore to another time than the one asked for.
type InterruptedRestoreError struct {
	Slug string
	Time time.Time
	Step string
	// File is the export an interrupted restore from an export restores from.
	File string
}

func (e *InterruptedRestoreError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("tenant %q has an interrupted restore from the export %s (after step %s): restore it from that file again to finish it, or roll it back",
			e.Slug, e.File, e.Step)
	}
	return fmt.Sprintf("tenant %q has an interrupted restore to %s (after step %s): restore it to that time again to finish it, or roll it back",
		e.Slug, e.Time.UTC().Format(time.RFC3339Nano), e.Step)
}

func (m *Mover) backupEnv() backup.Env {
	return backup.Env{Store: m.Store, Server: m.Server, Log: m.Log}
}

// Restore brings one tenant back as it was at o.Time from its server's pgBackRest
// backups: only its database is restored (selective restore) into a scratch instance,
// checked, then either imported as a new tenant (o.As) or swapped into place under the
// same name, roles and password, so the application's DSN is unchanged. An interrupted
// in-place restore is finished by running the same restore again.
func (m *Mover) Restore(ctx context.Context, o RestoreOptions) (RestoreResult, error) {
	start := time.Now()
	if err := o.Validate(); err != nil {
		return RestoreResult{}, err
	}
	t, err := m.Store.GetTenant(ctx, o.Slug)
	if err != nil {
		return RestoreResult{}, err
	}
	res := RestoreResult{Slug: t.Slug, ID: t.ID, Server: t.Server, Time: o.Time, As: o.As}
	if o.As == "" {
		r, ok, err := m.unfinishedRestore(ctx, t.ID)
		if err != nil {
			return res, err
		}
		if ok {
			if !r.TargetTime.Equal(o.Time) || r.SourceFile != "" {
				return res, validate.Invalid(&InterruptedRestoreError{Slug: t.Slug, Time: r.TargetTime, Step: r.Step, File: r.SourceFile})
			}
			if o.DryRun {
				res.Status = "resume at " + nextRestoreStep(r.Step)
				return res, nil
			}
			return m.resumeRestore(ctx, res, r, start, "resuming interrupted restore")
		}
	}
	if t.State != catalog.StateActive && t.State != catalog.StateSuspended {
		return res, validate.Invalid(fmt.Errorf("tenant %q is %s: %w (a restore needs an active or suspended tenant)", o.Slug, t.State, provisioner.ErrWrongState))
	}
	settings, err := m.Store.GetBackupSettings(ctx, t.Server)
	if errors.Is(err, catalog.ErrNoBackupSettings) {
		return res, validate.Invalid(err)
	} else if err != nil {
		return res, err
	}
	w, tw, held, err := backup.TenantWindow(ctx, m.backupEnv(), t.Server, t.CreatedAt)
	if errors.Is(err, backup.ErrNoBackups) {
		return res, validate.Invalid(err)
	} else if err != nil {
		return res, err
	}
	res.Window = &w
	if o.Time.Before(t.CreatedAt) {
		created := t.CreatedAt
		return res, &backup.OutsideWindowError{Time: o.Time, Window: w, Created: &created}
	}
	if !w.Contains(o.Time) {
		return res, &backup.OutsideWindowError{Time: o.Time, Window: w}
	}
	// A time the server's backups reach but none that holds this database: pgBackRest
	// would start from a backup taken before the database existed.
	if !held {
		return res, &backup.OutsideWindowError{Time: o.Time, Window: w, NotBackedUp: true}
	}
	if o.Time.Before(tw.From) {
		return res, &backup.OutsideWindowError{Time: o.Time, Window: w, Tenant: &tw}
	}
	for _, prog := range []string{"pg_dump", "pg_restore"} {
		if _, err := FindClient(prog); err != nil {
			return res, err
		}
	}
	if o.As != "" {
		if _, err := m.Store.GetTenant(ctx, o.As); err == nil {
			return res, validate.Invalid(fmt.Errorf("slug %q is already taken: %w", o.As, catalog.ErrTenantExists))
		}
		// Domains are unique: the new customer's defaults to one under the source's.
		if o.AsName == "" {
			o.AsName = t.Name + " (restored " + o.Time.UTC().Format("2006-01-02 15:04") + ")"
		}
		if o.AsDomain == "" {
			o.AsDomain = o.As + "." + t.Domain
		}
		co := provisioner.CreateOptions{Slug: o.As, Name: o.AsName, Domain: o.AsDomain, Server: t.Server}
		if _, err := co.Validate(); err != nil {
			return res, err
		}
	}
	if o.DryRun {
		res.Status = "planned"
		return res, nil
	}
	if o.As != "" {
		return m.restoreAsNew(ctx, t, settings, o, res, start)
	}
	scratchDir, err := o.scratchLocation("restore-" + t.ID)
	if err != nil {
		return res, err
	}
	return m.startRestore(ctx, res, catalog.Restore{TenantID: t.ID, Slug: t.Slug, TargetTime: o.Time, ScratchDir: scratchDir, KeepSource: o.keep()},
		start, "restoring tenant in place", "time", o.Time.UTC().Format(time.RFC3339Nano))
}

// unfinishedRestore returns the tenant's in-place restore still to finish, if it has
// one: one that did not switch, or one that switched but was killed before the tenant
// resumed (finished like one that had not switched yet).
func (m *Mover) unfinishedRestore(ctx context.Context, tenantID string) (catalog.Restore, bool, error) {
	open, err := m.Store.ListRestores(ctx, tenantID, catalog.RestoreRestoring, catalog.RestoreSwitched)
	if err != nil {
		return catalog.Restore{}, false, err
	}
	open = slices.DeleteFunc(open, func(r catalog.Restore) bool { return r.Status == catalog.RestoreSwitched && r.ResumedAt != nil })
	if len(open) == 0 {
		return catalog.Restore{}, false, nil
	}
	return open[0], true, nil
}

// resumeRestore finishes the interrupted in-place restore r under the tenant's lock,
// from the step the catalog holds once the lock is taken; msg is logged. res is
// returned with the error of a step that could not start.
func (m *Mover) resumeRestore(ctx context.Context, res RestoreResult, r catalog.Restore, start time.Time, msg string) (RestoreResult, error) {
	unlock, err := m.lockTenant(ctx, r.TenantID)
	if err != nil {
		return res, err
	}
	defer unlock()
	if r, err = m.Store.GetRestore(ctx, r.ID); err != nil {
		return res, err
	}
	m.Log.Info(msg, "tenant", r.Slug, "step", r.Step)
	return m.driveRestore(ctx, r, start)
}

// startRestore records the in-place restore r (its kept copy named by the restore's
// id) under the tenant's lock and drives it; msg and args are logged.
func (m *Mover) startRestore(ctx context.Context, res RestoreResult, r catalog.Restore, start time.Time, msg string, args ...any) (RestoreResult, error) {
	id := r.TenantID
	unlock, err := m.lockTenant(ctx, id)
	if err != nil {
		return res, err
	}
	defer unlock()
	r, err = m.Store.StartRestore(ctx, r, func(restoreID int64) string { return tenantdb.KeptCopy(id, restoreID) })
	if err != nil {
		return res, err
	}
	m.Log.Info(msg, append([]any{"tenant", r.Slug, "server", r.Server}, args...)...)
	fpRestoreStepRecorded[RestorePlanned].Hit()
	return m.driveRestore(ctx, r, start)
}

func nextRestoreStep(done string) string {
	if i := slices.Index(restoreSteps, done); i >= 0 && i+1 < len(restoreSteps) {
		return restoreSteps[i+1]
	}
	return done
}

// scratch returns the restore's scratch instance, started: the one already made when
// it is still there and starts, else a new restore from the backups.
func (m *Mover) scratch(ctx context.Context, s backup.Settings, live *tenantdb.Server, id string, at time.Time, dir string) (*backup.Scratch, error) {
	if sc, err := backup.OpenScratch(ctx, dir, live, tenantdb.Database(id)); err == nil {
		return sc, nil
	}
	return backup.RestoreScratch(ctx, s, live, tenantdb.Database(id), at, dir)
}

// checkScratch is the restored database's check: it opens, goose's version is known,
// and every table's rows are counted and summed.
func checkScratch(ctx context.Context, sc *backup.Scratch, id string) (int64, []TableSum, error) {
	versions, err := sc.Server.AppliedVersions(ctx, id)
	if err != nil {
		return 0, nil, fmt.Errorf("the restored database: %w", err)
	}
	if len(versions) == 0 {
		return 0, nil, errors.New("the restored database has no goose version: its schema version is unknown")
	}
	sums, err := Checksums(ctx, sc.Server, id)
	return slices.Max(versions), sums, err
}

// driveRestore runs an in-place restore's remaining steps. Before the switch, a failure
// (not a crash or a cancellation) rolls it back; after it, a rerun or reconcile
// finishes it.
func (m *Mover) driveRestore(ctx context.Context, r catalog.Restore, start time.Time) (RestoreResult, error) {
	res := RestoreResult{Slug: r.Slug, ID: r.TenantID, Server: r.Server, Time: r.TargetTime, File: r.SourceFile}
	err := m.restoreSteps(ctx, r, &res)
	rolledBack, rerr := rollBackFailed(ctx, m, err, r.Slug, "restore failed; rolling back", func() (catalog.Restore, bool, error) {
		cur, err := m.Store.GetRestore(ctx, r.ID)
		return cur, cur.Status == catalog.RestoreRestoring, err
	}, m.rollbackRestore)
	switch {
	case rerr != nil:
		return res, fmt.Errorf("restore tenant %q: %w; rolling back also failed: %w (run `tenantctl reconcile`)", r.Slug, err, rerr)
	case rolledBack:
		return res, fmt.Errorf("restore tenant %q: %w (rolled back: the tenant keeps its current database)", r.Slug, err)
	case err != nil:
		return res, fmt.Errorf("restore tenant %q: %w", r.Slug, err)
	}
	final, err := m.Store.GetRestore(ctx, r.ID)
	if err != nil {
		return res, err
	}
	res.Status, res.KeptDB, res.KeepSourceUntil = final.Status, final.KeptDB, final.KeepUntil
	if final.Tables != nil {
		res.Tables = *final.Tables
	}
	if final.Rows != nil {
		res.Rows = *final.Rows
	}
	res.Downtime, _ = downtime(final.SuspendedAt, final.ResumedAt)
	res.Duration = time.Since(start)
	return res, nil
}

func (m *Mover) restoreSteps(ctx context.Context, r catalog.Restore, res *RestoreResult) error {
	live, err := m.Server(ctx, r.Server)
	if err != nil {
		return err
	}
	id, db := r.TenantID, tenantdb.Database(r.TenantID)
	// From an export, no scratch instance and no pgBackRest: the archive is checked,
	// then restored into the database under the tenant's name once the current one is
	// aside.
	fromExport := r.SourceFile != ""
	var settings backup.Settings
	if !fromExport {
		if settings, err = m.Store.GetBackupSettings(ctx, r.Server); err != nil {
			return err
		}
	}
	var sc *backup.Scratch
	defer func() {
		if sc != nil {
			sc.Close()
		}
	}()
	needScratch := func() error {
		if sc != nil {
			return nil
		}
		var err error
		sc, err = m.scratch(ctx, settings, live, id, r.TargetTime, r.ScratchDir)
		return err
	}
	run := func(step string) (catalog.RestoreUpdate, bool, error) {
		u := catalog.RestoreUpdate{Step: &step}
		switch step {
		case RestoreScratch:
			if fromExport {
				info, err := m.checkExportFile(ctx, r)
				if err != nil {
					return u, false, err
				}
				res.SchemaVersion = info.Version
				break
			}
			if err := needScratch(); err != nil {
				return u, false, err
			}
			v, sums, err := checkScratch(ctx, sc, id)
			if err != nil {
				return u, false, err
			}
			n, rows := tally(sums)
			u.Tables, u.Rows = &n, &rows
			res.SchemaVersion = v
		case RestoreSuspended:
			// The app role loses LOGIN and CONNECT and its sessions end: nobody writes the
			// current database from here on (the downtime starts).
			if err := live.RevokeAccess(ctx, id); err != nil {
				return u, false, err
			}
			u.Suspended = true
		case RestoreRenamed:
			if err := live.RenameDatabase(ctx, db, r.KeptDB); err != nil {
				return u, false, err
			}
		case RestoreCopied:
			if fromExport {
				if err := m.restoreExportFile(ctx, live, r); err != nil {
					return u, false, err
				}
				break
			}
			if err := needScratch(); err != nil {
				return u, false, err
			}
			// The current database is aside under its kept name: the tenant's name is free
			// (an interrupted run's partial copy is dropped first).
			if err := recreateDatabase(ctx, live, id); err != nil {
				return u, false, err
			}
			if _, err := pipeDumpRestore(ctx, sc.Server, live, id); err != nil {
				return u, false, err
			}
		case RestoreHardened:
			if err := live.Harden(ctx, id); err != nil {
				return u, false, err
			}
			// A backup taken before tenantctl wrote the customer's domain does not carry it.
			t, err := m.Store.GetTenantByID(ctx, id)
			if err != nil {
				return u, false, err
			}
			if err := live.SetDomain(ctx, id, t.Domain); err != nil {
				return u, false, err
			}
			if fromExport {
				if err := m.migrateRestored(ctx, live, id); err != nil {
					return u, false, err
				}
			}
			// The app's CONNECT was revoked at suspension; hardening gave it back on the
			// restored database only, and it stays NOLOGIN until resumed.
			if err := live.SetAppLogin(ctx, id, false); err != nil {
				return u, false, err
			}
		case RestoreVerified:
			if fromExport {
				v, sums, err := m.checkRestored(ctx, live, id)
				if err != nil {
					return u, false, err
				}
				n, rows := tally(sums)
				u.Tables, u.Rows = &n, &rows
				res.Tables, res.Rows, res.SchemaVersion = n, rows, v
				break
			}
			if err := needScratch(); err != nil {
				return u, false, err
			}
			v, err := verify(ctx, sc.Server, live, id)
			if err != nil {
				return u, false, err
			}
			res.Tables, res.Rows = len(v.Tables), v.Rows
		case RestoreSwitched:
			if err := m.Store.SwitchRestore(ctx, r); err != nil {
				return u, false, err
			}
			if t, err := m.Store.GetTenantByID(ctx, id); err == nil {
				m.resyncWarehouse(ctx, t, catalog.Move{Target: r.Server, PriorState: r.PriorState})
			}
			return u, true, nil // SwitchRestore recorded the step
		case RestoreResumed:
			if r.PriorState == catalog.StateActive {
				if err := live.SetAppLogin(ctx, id, true); err != nil {
					return u, false, err
				}
			}
			if sc != nil {
				sc.Close()
				sc = nil
			}
			if r.ScratchDir != "" {
				if err := backup.RemoveScratch(ctx, r.ScratchDir); err != nil {
					return u, false, err
				}
			}
			u.Resumed = true
		}
		return u, false, nil
	}
	record := func(step string, u catalog.RestoreUpdate) error {
		if err := m.Store.UpdateRestore(ctx, r.ID, u); err != nil {
			return err
		}
		if step != RestoreResumed {
			return nil
		}
		cur, err := m.Store.GetRestore(ctx, r.ID)
		if err != nil {
			return err
		}
		return m.appendResumed(ctx, "tenant.restore.resumed", id, r.Slug, cur.SuspendedAt, cur.ResumedAt,
			map[string]any{"restore": r.ID, "server": r.Server, "kept_db": r.KeptDB})
	}
	if err := (stepRun[catalog.RestoreUpdate]{steps: restoreSteps, last: r.Step, before: fpRestoreStepDone, after: fpRestoreStepRecorded,
		run: run, record: record}).drive(); err != nil {
		return err
	}
	cur, err := m.Store.GetRestore(ctx, r.ID)
	if err != nil {
		return err
	}
	if cur.Status == catalog.RestoreSwitched && cur.KeepUntil != nil && !time.Now().Before(*cur.KeepUntil) {
		return m.dropKept(ctx, cur)
	}
	return nil
}

// dropKept drops the database an in-place restore replaced and marks the restore done.
func (m *Mover) dropKept(ctx context.Context, r catalog.Restore) error {
	if _, err := m.Store.GetServer(ctx, r.Server); errors.Is(err, catalog.ErrServerNotFound) {
		return m.Store.FinishRestore(ctx, r)
	}
	live, err := m.Server(ctx, r.Server)
	if err != nil {
		return err
	}
	if err := live.DropNamedDatabase(ctx, r.KeptDB); err != nil {
		return err
	}
	fpRestoreKeptDropped.Hit()
	m.Log.Info("kept copy dropped", "tenant", r.Slug, "database", r.KeptDB)
	return m.Store.FinishRestore(ctx, r)
}

// rollbackRestore undoes an in-place restore that did not switch: the scratch instance
// goes, the current database gets its name back (a partial restored copy under that
// name is dropped first — only when the kept one exists, so the customer's database is
// never the one dropped), its grants and the app's login come back.
func (m *Mover) rollbackRestore(ctx context.Context, r catalog.Restore, reason string) error {
	ctx = context.WithoutCancel(ctx)
	if r.Status != catalog.RestoreRestoring {
		return nil
	}
	if r.ScratchDir != "" {
		if err := backup.RemoveScratch(ctx, r.ScratchDir); err != nil {
			return err
		}
	}
	live, err := m.Server(ctx, r.Server)
	if err != nil {
		return err
	}
	kept, err := live.DatabaseExists(ctx, r.KeptDB)
	if err != nil {
		return err
	}
	if kept {
		if err := live.DropDatabase(ctx, r.TenantID); err != nil {
			return err
		}
		fpRestoreRollbackDropped.Hit()
		if err := live.RenameDatabase(ctx, r.KeptDB, tenantdb.Database(r.TenantID)); err != nil {
			return err
		}
	}
	fpRestoreRollbackRenamed.Hit()
	if slices.Index(restoreSteps, r.Step) >= slices.Index(restoreSteps, RestoreScratch) {
		if err := live.Harden(ctx, r.TenantID); err != nil {
			return err
		}
	}
	if r.PriorState == catalog.StateActive {
		if err := live.SetAppLogin(ctx, r.TenantID, true); err != nil {
			return err
		}
	}
	return m.Store.RollBackRestore(ctx, r, reason)
}

// RollBackRestore rolls back the tenant's interrupted in-place restore, if it has one
// that did not switch.
func (m *Mover) RollBackRestore(ctx context.Context, slug string) error {
	return rollBackOpen(ctx, m, slug, "restore", func(id string) ([]catalog.Restore, error) {
		return m.Store.ListRestores(ctx, id, catalog.RestoreRestoring)
	}, m.rollbackRestore)
}

// restoreAsNew restores the tenant's database into a scratch instance, dumps it and
// imports the dump as a new tenant (new roles and credentials, hardened, migrated),
// exactly like `tenant create --from-dump`. The source tenant is not touched. Killed,
// the import converges like any import (rerun or reconcile); the scratch instance stops
// with the process and the next run starts from a fresh one.
func (m *Mover) restoreAsNew(ctx context.Context, t catalog.Tenant, s backup.Settings, o RestoreOptions, res RestoreResult, start time.Time) (RestoreResult, error) {
	live, err := m.Server(ctx, t.Server)
	if err != nil {
		return res, err
	}
	dir, err := o.scratchLocation("as-" + t.ID + "-" + o.As)
	if err != nil {
		return res, err
	}
	sc, err := backup.RestoreScratch(ctx, s, live, tenantdb.Database(t.ID), o.Time, dir)
	if err != nil {
		return res, err
	}
	defer func() {
		sc.Close()
		if err := backup.RemoveScratch(context.WithoutCancel(ctx), dir); err != nil {
			m.Log.Warn("could not remove the scratch instance", "dir", dir, "error", err)
		}
	}()
	_, sums, err := checkScratch(ctx, sc, t.ID)
	if err != nil {
		return res, err
	}
	res.Tables, res.Rows = tally(sums)
	// The dump is read here, wherever the scratch instance runs.
	tmp, err := os.MkdirTemp("", "tenantctl-restored-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)
	file := filepath.Join(tmp, "restored.dump")
	bin, err := FindClient("pg_dump")
	if err != nil {
		return res, err
	}
	dump, err := ownerClientCmd(ctx, bin, sc.Server, t.ID, "--format=custom", "--no-owner", "--no-acl", "--file="+file)
	if err != nil {
		return res, err
	}
	if _, err := runClient(dump); err != nil {
		return res, fmt.Errorf("dump the restored database: %w", err)
	}
	nt, err := m.Import(ctx, ImportOptions{CreateOptions: provisioner.CreateOptions{Slug: o.As, Name: o.AsName, Domain: o.AsDomain, Server: t.Server}, File: file})
	if err != nil {
		return res, err
	}
	if err := m.Store.AppendEvent(ctx, nil, catalog.Event{Action: "tenant.restore.as-new", TenantID: nt.ID, Slug: nt.Slug, Details: map[string]any{
		"source": t.Slug, "server": t.Server, "target_time": o.Time.UTC().Format(time.RFC3339Nano), "tables": res.Tables, "rows": res.Rows,
	}}); err != nil {
		return res, err
	}
	res.Status, res.SchemaVersion = "imported", nt.SchemaVersion
	res.Duration = time.Since(start)
	return res, nil
}

// reconcileRestores settles interrupted in-place restores: one that did not switch is
// rolled back (the tenant keeps its current database); a switched one is finished; a
// kept copy whose retention ended is dropped.
func (m *Mover) reconcileRestores(ctx context.Context, rep *repairs) error {
	open, err := m.Store.ListRestores(ctx, "", catalog.RestoreRestoring, catalog.RestoreSwitched)
	if err != nil {
		return err
	}
	for _, r := range open {
		var a provisioner.Action
		switch {
		case r.Status == catalog.RestoreRestoring:
			a = provisioner.Action{Kind: ActRollBackRestore, Tenant: r.Slug, Server: r.Server,
				Detail: fmt.Sprintf("restore to %s was interrupted after step %s: rolling back", r.TargetTime.UTC().Format(time.RFC3339), r.Step)}
		case r.ResumedAt == nil:
			a = provisioner.Action{Kind: ActFinishRestore, Tenant: r.Slug, Server: r.Server,
				Detail: "restore switched but was interrupted before the tenant resumed: finishing it"}
		case r.KeepUntil != nil && !time.Now().Before(*r.KeepUntil):
			a = provisioner.Action{Kind: ActDropKept, Tenant: r.Slug, Server: r.Server,
				Detail: fmt.Sprintf("database %s kept after a restore expired at %s: dropping it", r.KeptDB, r.KeepUntil.UTC().Format(time.RFC3339))}
		default:
			continue
		}
		rep.do(a, busyDriving, nil, func() error { return m.settleRestore(ctx, r.ID, r.TenantID) })
	}
	return nil
}

func (m *Mover) settleRestore(ctx context.Context, restoreID int64, tenantID string) error {
	unlock, err := m.lockTenant(ctx, tenantID)
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := m.Store.GetRestore(ctx, restoreID)
	if err != nil {
		return err
	}
	switch {
	case cur.Status == catalog.RestoreRestoring:
		return m.rollbackRestore(ctx, cur, "interrupted; rolled back by reconcile")
	case cur.Status == catalog.RestoreSwitched && cur.ResumedAt == nil:
		_, err := m.driveRestore(ctx, cur, time.Now())
		return err
	case cur.Status == catalog.RestoreSwitched && cur.KeepUntil != nil && !time.Now().Before(*cur.KeepUntil):
		return m.dropKept(ctx, cur)
	}
	return nil
}
