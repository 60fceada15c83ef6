package mover

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
)

// DefaultLogicalKeep is how long logical backups are kept unless --keep says otherwise.
const DefaultLogicalKeep = 14 * 24 * time.Hour

// LogicalBackupOptions describe a logical backup run: every active tenant (of one
// server, or all) exported into Dir/<slug>/, files older than Keep removed once a new
// one of the same tenant is recorded.
type LogicalBackupOptions struct {
	Server string
	Dir    string
	Keep   time.Duration
}

// Validate checks the options without touching anything.
func (o *LogicalBackupOptions) Validate() error {
	if o.Server != "" {
		if err := validate.ServerName(o.Server); err != nil {
			return err
		}
	}
	if o.Dir == "" {
		return validate.Errorf("a backup directory is required (--dir)")
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return validate.Errorf("backup directory %s: %v", o.Dir, err)
	}
	o.Dir = abs
	if o.Keep == 0 {
		o.Keep = DefaultLogicalKeep
	}
	if o.Keep < 0 {
		return validate.Field("keep", o.Keep, "must be positive")
	}
	return nil
}

// ParseKeep reads a retention: a Go duration (36h, 90m) or whole days (14d).
func ParseKeep(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(strings.TrimSpace(s), "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n > 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, validate.Errorf("invalid --keep %q: give days such as 14d, or a duration such as 36h", s)
}

// LogicalBackupResult is one tenant's logical backup.
type LogicalBackupResult struct {
	Slug     string        `json:"slug"`
	Server   string        `json:"server"`
	File     string        `json:"file,omitempty"`
	Bytes    int64         `json:"bytes,omitempty"`
	SHA256   string        `json:"sha256,omitempty"`
	Duration time.Duration `json:"duration_ns"`
	// Removed are the older files of the tenant the retention removed.
	Removed []string `json:"removed,omitempty"`
	// Swept are what an earlier, killed run left in the tenant's directory: Recorded its
	// complete archives no record named (recorded now), PartialsRemoved its partial ones.
	Recorded        []string `json:"recorded,omitempty"`
	PartialsRemoved []string `json:"partials_removed,omitempty"`
	Error           string   `json:"error,omitempty"`
}

// LogicalBackup exports every active tenant (as [Mover.Export] does: written under a
// temporary name, synced, renamed) into o.Dir/<slug>/<slug>-<time>.dump and records
// each complete file in the catalog with its size and SHA-256; only then are the
// tenant's files older than o.Keep removed (and marked removed). A partial file is never
// recorded; killed between the rename and the record, the run leaves a complete file
// that no record names: the next run records it (and removes partial files a killed
// export left) before it exports the tenant again. One tenant's failure does not stop
// the others; the error joins them all.
func (m *Mover) LogicalBackup(ctx context.Context, o LogicalBackupOptions) ([]LogicalBackupResult, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Server != "" {
		if _, err := m.Store.GetServer(ctx, o.Server); err != nil {
			return nil, err
		}
	}
	tenants, err := m.Store.ListTenants(ctx, catalog.TenantFilter{Server: o.Server, States: []string{catalog.StateActive}})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("backup directory: %w", err)
	}
	out := []LogicalBackupResult{}
	var errs []error
	for _, t := range tenants {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		r, err := m.logicalBackupOne(ctx, o, t)
		if err != nil {
			r.Error = secret.Scrub(err.Error())
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.Slug, err))
			m.Log.Error("logical backup failed", "tenant", t.Slug, "error", r.Error)
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

func (m *Mover) logicalBackupOne(ctx context.Context, o LogicalBackupOptions, t catalog.Tenant) (LogicalBackupResult, error) {
	start := time.Now()
	r := LogicalBackupResult{Slug: t.Slug, Server: t.Server}
	dir := filepath.Join(o.Dir, t.Slug)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return r, err
	}
	if err := m.sweepLogical(ctx, t, dir, &r); err != nil {
		return r, fmt.Errorf("sweep %s: %w", dir, err)
	}
	file := filepath.Join(dir, t.Slug+"-"+start.UTC().Format(logicalTimeLayout)+".dump")
	res, err := m.Export(ctx, ExportOptions{Slug: t.Slug, Out: file})
	if err != nil {
		return r, err
	}
	fpLogicalWritten.Hit()
	rec, err := m.Store.RecordLogicalBackup(ctx, catalog.LogicalBackup{TenantID: t.ID, Slug: t.Slug, Server: t.Server,
		Path: file, SizeBytes: res.Bytes, SHA256: res.SHA256, SchemaVersion: t.SchemaVersion})
	if err != nil {
		return r, err
	}
	fpLogicalRecorded.Hit()
	r.File, r.Bytes, r.SHA256 = rec.Path, rec.SizeBytes, rec.SHA256
	// Retention: only now that a newer file is recorded.
	old, err := m.Store.ListLogicalBackups(ctx, catalog.LogicalBackupFilter{TenantID: t.ID, Before: rec.TakenAt.Add(-o.Keep)})
	if err != nil {
		return r, err
	}
	for _, b := range old {
		if b.ID == rec.ID {
			continue
		}
		if err := os.Remove(b.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return r, fmt.Errorf("retention: %w", err)
		}
		fpLogicalRemoved.Hit()
		if err := m.Store.MarkLogicalBackupRemoved(ctx, b.ID); err != nil {
			return r, err
		}
		r.Removed = append(r.Removed, b.Path)
	}
	r.Duration = time.Since(start)
	m.Log.Info("logical backup done", "tenant", t.Slug, "file", file, "bytes", r.Bytes, "removed", len(r.Removed))
	return r, nil
}

// logicalTimeLayout is the time in a logical backup's file name, <slug>-<time>.dump.
const logicalTimeLayout = "20060102T150405.000Z"

// sweepLogical settles what a killed run left in a tenant's backup directory, under the
// tenant's lock (an export holds it while it writes, so no partial file of a running
// export is touched): a partial archive (.<name>.partial-*, never renamed into place) is
// removed; a complete one (<slug>-<time>.dump: only a whole, synced archive is renamed
// to that name) that no record names — killed between the rename and the record — is
// recorded now with its size and SHA-256, once pg_restore reads it as a tenant archive,
// and then falls under the retention like any other. Anything else is left alone.
func (m *Mover) sweepLogical(ctx context.Context, t catalog.Tenant, dir string, r *LogicalBackupResult) error {
	unlock, err := m.lockTenant(ctx, t.ID)
	if err != nil {
		return err
	}
	defer unlock()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	prefix := t.Slug + "-"
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, name)
		if strings.HasPrefix(name, "."+prefix) && strings.Contains(name, ".dump.partial-") {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			m.Log.Info("partial logical backup removed", "tenant", t.Slug, "file", path)
			r.PartialsRemoved = append(r.PartialsRemoved, path)
			continue
		}
		stamp, ok := strings.CutSuffix(strings.TrimPrefix(name, prefix), ".dump")
		if !strings.HasPrefix(name, prefix) || !ok {
			continue
		}
		taken, err := time.Parse(logicalTimeLayout, stamp)
		if err != nil {
			continue
		}
		if _, err := m.Store.GetLogicalBackupByPath(ctx, path); err == nil {
			continue
		} else if !errors.Is(err, catalog.ErrLogicalBackupNotFound) {
			return err
		}
		info, err := inspectDump(ctx, path, false)
		if err != nil {
			m.Log.Warn("unrecorded file in the backup directory is not a tenant archive; left alone", "tenant", t.Slug, "file", path, "error", secret.Scrub(err.Error()))
			continue
		}
		if _, err := m.Store.RecordLogicalBackup(ctx, catalog.LogicalBackup{TenantID: t.ID, Slug: t.Slug, Server: t.Server,
			Path: path, SizeBytes: info.Bytes, SHA256: info.SHA256, SchemaVersion: info.Version, TakenAt: taken}); err != nil {
			return err
		}
		m.Log.Info("unrecorded logical backup recorded", "tenant", t.Slug, "file", path, "sha256", info.SHA256)
		r.Recorded = append(r.Recorded, path)
	}
	return nil
}

// VerifyLogicalBackup checks a file against its catalog record when it is one of the
// recorded logical backups: the file's SHA-256 and size must match, and the record must
// be of the tenant slug. It returns the record, or nil for a file no logical backup
// recorded. A mismatch is refused (exit 2) and names both sums.
func (m *Mover) VerifyLogicalBackup(ctx context.Context, slug, file string) (*catalog.LogicalBackup, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, validate.Errorf("%s: %v", file, err)
	}
	rec, err := m.Store.GetLogicalBackupByPath(ctx, abs)
	if errors.Is(err, catalog.ErrLogicalBackupNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if rec.Slug != slug {
		return &rec, validate.Errorf("%s is a logical backup of tenant %q, not of %q", abs, rec.Slug, slug)
	}
	f, err := os.Open(abs)
	if err != nil {
		return &rec, validate.Errorf("logical backup %s: %v", abs, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return &rec, fmt.Errorf("read %s: %w", abs, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != rec.SHA256 || n != rec.SizeBytes {
		return &rec, validate.Errorf("%s does not match its backup record: SHA-256 %s (%d bytes), recorded %s (%d bytes) at %s: the file changed since it was written",
			abs, sum, n, rec.SHA256, rec.SizeBytes, rec.TakenAt.UTC().Format(time.RFC3339))
	}
	return &rec, nil
}

// FromExportOptions describe a restore of a tenant from an export (a logical backup or
// any 'tenant export' archive) as a new customer.
type FromExportOptions struct {
	Slug string
	File string
	// As is the new tenant's slug; AsName and AsDomain default to the source's name,
	// marked restored, and NEW-SLUG.<the source's domain>. Empty for
	// [Mover.RestoreExportInPlace].
	As, AsName, AsDomain string
	// KeepSource, in place, is how long the replaced database stays; nil means
	// [DefaultKeepSource], 0 drops it at once.
	KeepSource *time.Duration
}

// FromExportResult describes a restore from an export.
type FromExportResult struct {
	Slug   string `json:"slug"`
	As     string `json:"as"`
	ID     string `json:"id"`
	Server string `json:"server"`
	File   string `json:"file"`
	// Verified is true when the file is a recorded logical backup whose SHA-256 matched.
	Verified      bool          `json:"verified"`
	SHA256        string        `json:"sha256,omitempty"`
	TakenAt       *time.Time    `json:"taken_at,omitempty"`
	SchemaVersion int64         `json:"schema_version"`
	Duration      time.Duration `json:"duration_ns"`
}

// RestoreFromExport brings a tenant's export in as a new customer, exactly like
// 'tenant create --from-dump' ([Mover.Import]: new roles and credentials, hardened,
// migrated). When the file is one of the recorded logical backups it must be of the
// tenant slug and match its recorded SHA-256 and size, or nothing happens (exit 2).
// The source tenant, when it still exists, is not touched.
func (m *Mover) RestoreFromExport(ctx context.Context, o FromExportOptions) (FromExportResult, error) {
	start := time.Now()
	if err := validate.Slug(o.Slug); err != nil {
		return FromExportResult{}, err
	}
	if o.As == "" {
		return FromExportResult{}, validate.Errorf("a new tenant's slug is required (or restore the export in place)")
	}
	if err := validate.Slug(o.As); err != nil {
		return FromExportResult{}, err
	}
	if o.As == o.Slug {
		return FromExportResult{}, validate.Errorf("--as must name a new tenant, not %q itself", o.Slug)
	}
	if o.File == "" {
		return FromExportResult{}, validate.Errorf("an export file is required")
	}
	if fi, err := os.Stat(o.File); err != nil || fi.IsDir() {
		return FromExportResult{}, validate.Errorf("export file %s: not a readable file", o.File)
	}
	rec, err := m.VerifyLogicalBackup(ctx, o.Slug, o.File)
	if err != nil {
		return FromExportResult{}, err
	}
	src, err := m.Store.GetTenant(ctx, o.Slug)
	switch {
	case err == nil:
		if o.AsName == "" {
			o.AsName = src.Name + " (restored)"
			if rec != nil {
				o.AsName = src.Name + " (restored " + rec.TakenAt.UTC().Format("2006-01-02 15:04") + ")"
			}
		}
		if o.AsDomain == "" {
			o.AsDomain = o.As + "." + src.Domain
		}
	case errors.Is(err, catalog.ErrTenantNotFound):
		if o.AsName == "" || o.AsDomain == "" {
			return FromExportResult{}, validate.Errorf("tenant %q no longer exists: give --as-name and --as-domain for the new customer", o.Slug)
		}
	default:
		return FromExportResult{}, err
	}
	nt, err := m.Import(ctx, ImportOptions{CreateOptions: provisioner.CreateOptions{Slug: o.As, Name: o.AsName, Domain: o.AsDomain}, File: o.File})
	if err != nil {
		return FromExportResult{}, err
	}
	res := FromExportResult{Slug: o.Slug, As: nt.Slug, ID: nt.ID, Server: nt.Server, File: o.File, Verified: rec != nil,
		SchemaVersion: nt.SchemaVersion, Duration: time.Since(start)}
	if rec != nil {
		res.SHA256, res.TakenAt = rec.SHA256, &rec.TakenAt
	}
	details := map[string]any{"as": nt.Slug, "as_id": nt.ID, "file": filepath.Base(o.File), "verified": res.Verified, "server": nt.Server}
	if rec != nil {
		details["sha256"], details["taken_at"] = rec.SHA256, rec.TakenAt
	}
	ev := catalog.Event{Action: "tenant.restore.from-export", Slug: o.Slug, Details: details}
	if src.ID != "" {
		ev.TenantID = src.ID
	}
	if err := m.Store.AppendEvent(ctx, nil, ev); err != nil {
		return res, err
	}
	return res, nil
}
