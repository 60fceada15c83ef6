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
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// ExportOptions describe an export.
type ExportOptions struct {
	Slug string
	// Out is the archive file to write; it must not exist yet.
	Out string
}

// Validate checks the options without touching anything.
func (o ExportOptions) Validate() error {
	if err := validate.Slug(o.Slug); err != nil {
		return err
	}
	if o.Out == "" {
		return validate.Errorf("an output file is required")
	}
	if _, err := os.Stat(o.Out); err == nil {
		return validate.Errorf("%s already exists: choose another file or remove it first", o.Out)
	}
	if fi, err := os.Stat(filepath.Dir(o.Out)); err != nil || !fi.IsDir() {
		return validate.Errorf("directory %s does not exist", filepath.Dir(o.Out))
	}
	return nil
}

// ExportResult describes an archive written by [Mover.Export].
type ExportResult struct {
	Slug     string        `json:"slug"`
	ID       string        `json:"id"`
	File     string        `json:"file"`
	Bytes    int64         `json:"bytes"`
	SHA256   string        `json:"sha256"`
	Duration time.Duration `json:"duration_ns"`
}

// Export writes the tenant's database as a pg_dump custom-format archive: schema and
// rows, without owners or grants (no MSP role appears in it), read from one consistent
// snapshot as the tenant's owner role. The file is written under a temporary name,
// synced, then renamed, and is readable by its owner only. The export is recorded in
// the event log with the archive's size and SHA-256. Purged tenants have no data left
// and are refused.
func (m *Mover) Export(ctx context.Context, o ExportOptions) (ExportResult, error) {
	start := time.Now()
	if err := o.Validate(); err != nil {
		return ExportResult{}, err
	}
	t, err := m.Store.GetTenant(ctx, o.Slug)
	if errors.Is(err, catalog.ErrTenantNotFound) {
		if purged, lerr := m.Store.ListTenants(ctx, catalog.TenantFilter{Slug: o.Slug, States: []string{catalog.StatePurged}}); lerr == nil && len(purged) > 0 {
			return ExportResult{}, validate.Errorf("tenant %q was purged: none of its data exists any more", o.Slug)
		}
	}
	if err != nil {
		return ExportResult{}, err
	}
	switch t.State {
	case catalog.StateActive, catalog.StateSuspended, catalog.StateDeleting:
	default:
		return ExportResult{}, validate.Invalid(fmt.Errorf("tenant %q is %s: %w (export needs an active, suspended or deleted-but-not-purged tenant)",
			o.Slug, t.State, provisioner.ErrWrongState))
	}
	bin, err := FindClient("pg_dump")
	if err != nil {
		return ExportResult{}, err
	}
	// The lock keeps the tenant from moving or being purged while it is read.
	t, unlock, err := m.lockAndReread(ctx, t.ID)
	if err != nil {
		return ExportResult{}, err
	}
	defer unlock()
	srv, err := m.Server(ctx, t.Server)
	if err != nil {
		return ExportResult{}, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(o.Out), "."+filepath.Base(o.Out)+".partial-*")
	if err != nil {
		return ExportResult{}, fmt.Errorf("create %s: %w", o.Out, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(tmp, h)}
	cmd, err := ownerClientCmd(ctx, bin, srv, t.ID, "--format=custom", "--no-owner", "--no-acl")
	if err != nil {
		return ExportResult{}, err
	}
	cmd.Stdout = cw
	if _, err := runClient(cmd); err != nil {
		return ExportResult{}, fmt.Errorf("export tenant %q: %w", o.Slug, err)
	}
	if err := tmp.Sync(); err != nil {
		return ExportResult{}, err
	}
	if err := tmp.Close(); err != nil {
		return ExportResult{}, err
	}
	if err := os.Rename(tmp.Name(), o.Out); err != nil {
		return ExportResult{}, err
	}
	done = true
	fpExportWritten.Hit()
	res := ExportResult{Slug: t.Slug, ID: t.ID, File: o.Out, Bytes: cw.n, SHA256: hex.EncodeToString(h.Sum(nil)), Duration: time.Since(start)}
	if err := m.Store.AppendEvent(ctx, nil, catalog.Event{Action: "tenant.export", TenantID: t.ID, Slug: t.Slug, Details: map[string]any{
		"server": t.Server, "database": tenantdb.Database(t.ID), "file": filepath.Base(o.Out), "bytes": res.Bytes, "sha256": res.SHA256,
		"format": "pg_dump custom", "schema_version": t.SchemaVersion,
	}}); err != nil {
		return res, err
	}
	return res, nil
}
