package mover

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
	"github.com/tenantctl/tenantctl/warehouse"
)

// ImportOptions describe a tenant created from a customer's dump.
type ImportOptions struct {
	provisioner.CreateOptions
	// File is a pg_dump custom-format archive of the customer's database.
	File string
	// Baseline, when not 0, is the tenant migration version the customer's schema
	// matches: after the restore, the migrations up to it are checked and recorded as
	// applied (see tenantdb.Server.Baseline) instead of read from the dump's goose table,
	// which the dump then need not have.
	Baseline int64
}

// DumpInfo is what [InspectDump] learns from an archive's table of contents.
type DumpInfo struct {
	Entries int `json:"entries"`
	Tables  int `json:"tables"`
	// Version is the highest applied version in the dump's goose_db_version table.
	Version    int64    `json:"schema_version"`
	Extensions []string `json:"extensions,omitempty"`
	SHA256     string   `json:"sha256"`
	Bytes      int64    `json:"bytes"`
}

// allowedExtensions are extensions a tenant database may carry: trusted ones the
// database owner can create itself, none reaching outside the database.
var allowedExtensions = map[string]bool{
	"plpgsql": true, "pgcrypto": true, "uuid-ossp": true, "citext": true, "hstore": true, "pg_trgm": true,
	"btree_gin": true, "btree_gist": true, "fuzzystrmatch": true, "intarray": true, "ltree": true, "tablefunc": true,
	"unaccent": true, "cube": true, "isn": true, "lo": true, "seg": true, "tcn": true, "tsm_system_rows": true, "tsm_system_time": true,
}

// forbiddenEntries are archive entry types a tenant database must not hold: ways out of
// the database (foreign servers, subscriptions) and objects only a superuser creates.
var forbiddenEntries = map[string]string{
	"FOREIGN DATA WRAPPER": "a foreign data wrapper",
	"SERVER":               "a foreign server",
	"USER MAPPING":         "a user mapping",
	"SUBSCRIPTION":         "a subscription",
	"PUBLICATION":          "a publication",
	"EVENT TRIGGER":        "an event trigger",
	"ROLE":                 "a role",
}

// InspectDump checks that file is a pg_dump custom-format archive a tenant database may
// be restored from, and reads its schema version from its goose_db_version table. It
// returns [ErrNotDump], [ErrForbiddenContent] or [ErrNoVersion], as invalid input.
func InspectDump(ctx context.Context, file string) (DumpInfo, error) {
	return inspectDump(ctx, file, false)
}

// inspectDump is InspectDump; noVersionOK accepts a dump without goose's table (the
// import baselines it), whose Version is then 0.
func inspectDump(ctx context.Context, file string, noVersionOK bool) (DumpInfo, error) {
	var info DumpInfo
	f, err := os.Open(file)
	if err != nil {
		return info, validate.Errorf("read dump: %v", err)
	}
	head := make([]byte, 5)
	n, _ := io.ReadFull(f, head)
	h := sha256.New()
	if _, err := f.Seek(0, io.SeekStart); err == nil {
		info.Bytes, _ = io.Copy(h, f)
	}
	f.Close()
	info.SHA256 = hex.EncodeToString(h.Sum(nil))
	if string(head[:n]) != "PGDMP" {
		hint := ""
		if bytes.HasPrefix(head[:n], []byte("--")) || bytes.HasPrefix(head[:n], []byte("SET")) || bytes.HasPrefix(head[:n], []byte("CREA")) {
			hint = " (it looks like a plain SQL script: make a custom-format archive with pg_dump --format=custom)"
		}
		return info, validate.Invalid(fmt.Errorf("%s: %w%s", file, ErrNotDump, hint))
	}
	bin, err := FindClient("pg_restore")
	if err != nil {
		return info, err
	}
	out, err := runClient(exec.CommandContext(ctx, bin, "--list", file))
	if err != nil {
		return info, validate.Invalid(fmt.Errorf("%s: %w: %w", file, ErrNotDump, err))
	}
	hasGoose := false
	var forbidden []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, ";") {
			continue
		}
		// "ID; CATALOG-OID OID TYPE SCHEMA NAME OWNER", TYPE possibly several words.
		_, rest, ok := strings.Cut(line, "; ")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) < 3 {
			continue
		}
		info.Entries++
		desc := strings.Join(fields[2:], " ")
		switch {
		case strings.HasPrefix(desc, "EXTENSION "):
			name := ""
			if len(fields) >= 5 {
				name = fields[4]
			}
			info.Extensions = append(info.Extensions, name)
			if !allowedExtensions[name] {
				forbidden = append(forbidden, "extension "+name)
			}
		case strings.HasPrefix(desc, "TABLE DATA "):
			info.Tables++
			if len(fields) >= 6 && fields[5] == "goose_db_version" {
				hasGoose = true
			}
		}
		for kind, what := range forbiddenEntries {
			if strings.HasPrefix(desc, kind+" ") {
				forbidden = append(forbidden, what+" ("+strings.Join(fields[2:], " ")+")")
			}
		}
	}
	if len(forbidden) > 0 {
		return info, validate.Invalid(fmt.Errorf("%s: %w: %s", file, ErrForbiddenContent, strings.Join(forbidden, ", ")))
	}
	if !hasGoose && noVersionOK {
		return info, nil
	}
	if !hasGoose {
		return info, validate.Invalid(fmt.Errorf("%s: %w. If the customer's schema matches tenant migration version N, "+
			"import it with --baseline N (tenant create … --from-dump FILE --baseline N): the objects the migrations up to N create are checked, "+
			"those versions recorded as applied, and the rest applied; see tenantctl migrate baseline --help", file, ErrNoVersion))
	}
	data, err := runClient(exec.CommandContext(ctx, bin, "--data-only", "--table=goose_db_version", "--file=-", file))
	if err != nil {
		return info, validate.Invalid(fmt.Errorf("%s: read its goose_db_version: %w", file, err))
	}
	if info.Version, err = gooseVersion(data); err != nil {
		return info, validate.Invalid(fmt.Errorf("%s: %w", file, err))
	}
	return info, nil
}

// gooseVersion reads goose's current version from the COPY text of goose_db_version
// (id, version_id, is_applied, tstamp): the version of the newest row for each
// version_id decides whether it is applied; the highest applied one wins.
func gooseVersion(sql []byte) (int64, error) {
	type row struct {
		id      int64
		applied bool
	}
	latest := map[int64]row{}
	inCopy := false
	sc := bufio.NewScanner(bytes.NewReader(sql))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "COPY ") && strings.Contains(line, "goose_db_version"):
			inCopy = true
			continue
		case line == `\.`:
			inCopy = false
			continue
		case !inCopy:
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 3 {
			continue
		}
		id, err1 := strconv.ParseInt(f[0], 10, 64)
		v, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("unreadable goose_db_version row %q", line)
		}
		if r, ok := latest[v]; !ok || id > r.id {
			latest[v] = row{id: id, applied: f[2] == "t"}
		}
	}
	var version int64
	for v, r := range latest {
		if r.applied && v > version {
			version = v
		}
	}
	return version, nil
}

// Import creates a tenant whose database is restored from a customer's dump instead of
// cloned from the template: the archive is checked first (nothing is created for a
// file that is not a dump, carries forbidden objects or has no goose version); then the
// tenant is recorded as importing, its roles are made, the archive is restored as the
// owner role (objects owned by it, no foreign owners or grants), hardened like every
// tenant, migrated to the latest schema, and activated. Interrupted, a rerun with the
// same arguments starts the restore again; reconcile undoes it. A restore that fails is
// undone (the tenant is purged with a tombstone event).
func (m *Mover) Import(ctx context.Context, o ImportOptions) (catalog.Tenant, error) {
	labels, err := o.Validate()
	if err != nil {
		return catalog.Tenant{}, err
	}
	if o.File == "" {
		return catalog.Tenant{}, validate.Errorf("a dump file is required")
	}
	if _, err := m.Store.Box(ctx); err != nil {
		return catalog.Tenant{}, err
	}
	if o.Baseline < 0 {
		return catalog.Tenant{}, validate.Field("baseline", o.Baseline, "use a migration version of 1 or more")
	}
	info, err := inspectDump(ctx, o.File, o.Baseline > 0)
	if err != nil {
		return catalog.Tenant{}, err
	}
	fsys := m.Migrations
	latest, err := migrations.Latest(fsys)
	if err != nil {
		return catalog.Tenant{}, err
	}
	if o.Baseline > latest {
		return catalog.Tenant{}, validate.Errorf("--baseline %d is newer than the tenant migrations (latest %d)", o.Baseline, latest)
	}
	if info.Version > latest {
		return catalog.Tenant{}, validate.Errorf("%s is at schema version %d, newer than the tenant migrations (latest %d)", o.File, info.Version, latest)
	}
	existing, err := m.Store.GetTenant(ctx, o.Slug)
	switch {
	case err == nil:
		if existing.State != catalog.StateImporting || existing.Domain != o.Domain || existing.Name != o.Name {
			return existing, validate.Invalid(fmt.Errorf("slug %q is already taken (tenant %s, state %s): %w",
				o.Slug, existing.ID, existing.State, catalog.ErrTenantExists))
		}
		m.Log.Info("restarting interrupted import", "tenant", o.Slug)
	case errors.Is(err, catalog.ErrTenantNotFound):
		srv, err := m.Place(ctx, o.Server, labels)
		if err != nil {
			return catalog.Tenant{}, err
		}
		existing = catalog.Tenant{ID: tenantdb.NewID(), Slug: o.Slug, Name: o.Name, Domain: o.Domain,
			ContactEmail: o.ContactEmail, Labels: labels, Server: srv.Name}
		if err := m.Store.InsertImportingTenant(ctx, existing, map[string]any{
			"dump_sha256": info.SHA256, "dump_bytes": info.Bytes, "dump_schema_version": info.Version,
		}); err != nil {
			return catalog.Tenant{}, err
		}
		fpImportInserted.Hit()
	default:
		return catalog.Tenant{}, err
	}
	unlock, err := m.lockTenant(ctx, existing.ID)
	if err != nil {
		return existing, err
	}
	defer unlock()
	t, err := m.Store.GetTenantByID(ctx, existing.ID)
	if err != nil {
		return t, err
	}
	if t.State != catalog.StateImporting {
		return t, nil // finished by someone else meanwhile
	}
	version, err := m.restore(ctx, t, o.File, o.Baseline)
	if err != nil {
		if ctx.Err() != nil {
			return t, err
		}
		msg := secret.Scrub(err.Error())
		if uerr := m.undoImport(ctx, t, msg); uerr != nil {
			return t, &provisioner.UnfinishedError{Err: fmt.Errorf("import tenant %q: %w; undoing it also failed: %w", t.Slug, err, uerr)}
		}
		return t, fmt.Errorf("import tenant %q: %w (undone: nothing was kept)", t.Slug, err)
	}
	active, none, step := catalog.StateActive, "", "imported"
	if err := m.Store.UpdateTenant(ctx, t.ID, catalog.TenantUpdate{State: &active, Step: &step, LastError: &none, SchemaVersion: &version,
		Event: &catalog.Event{Action: "tenant.active", Slug: t.Slug, Details: map[string]any{
			"server": t.Server, "schema_version": version, "from_dump": true, "dump_schema_version": info.Version, "dump_sha256": info.SHA256, "baseline": o.Baseline,
		}}}); err != nil {
		return t, err
	}
	if dsn, err := m.Store.WarehouseDSN(ctx); err == nil {
		if err := warehouse.ResyncTenant(ctx, dsn, warehouse.Tenant{ID: t.ID, Slug: t.Slug, Name: t.Name, Domain: t.Domain, Server: t.Server, State: active}); err != nil {
			m.Log.Warn("could not update the warehouse tenant dimension", "tenant", t.Slug, "error", secret.Scrub(err.Error()))
		}
	}
	return m.Store.GetTenantByID(ctx, t.ID)
}

// Import steps, recorded in the tenant's step.
const (
	StepImportRoles    = "import-roles"
	StepImportRestored = "import-restored"
	StepImportHardened = "import-hardened"
	StepImportMigrated = "import-migrated"
)

// restore makes the imported tenant's roles and database and returns its schema
// version. Every run starts from an empty database.
func (m *Mover) restore(ctx context.Context, t catalog.Tenant, file string, baseline int64) (int64, error) {
	srv, err := m.Server(ctx, t.Server)
	if err != nil {
		return 0, err
	}
	record := func(step string) error {
		if err := m.Store.UpdateTenant(ctx, t.ID, catalog.TenantUpdate{Step: &step}); err != nil {
			return err
		}
		fpImportStep[step].Hit()
		return nil
	}
	if ok, err := m.Store.HasCredential(ctx, t.ID, "app"); err != nil {
		return 0, err
	} else if !ok {
		if err := m.Store.SetCredential(ctx, t.ID, "app", secret.NewPassword()); err != nil {
			return 0, err
		}
		fpImportCredentials.Hit()
	}
	pw, err := m.Store.Credential(ctx, t.ID, "app")
	if err != nil {
		return 0, err
	}
	var ownerPW string
	if err := m.WithOwnerPassword(ctx, t.ID, func(opw string) error {
		ownerPW = opw
		return srv.EnsureRoles(ctx, t.ID, pw, opw, false)
	}); err != nil {
		return 0, err
	}
	if err := record(StepImportRoles); err != nil {
		return 0, err
	}
	if err := recreateDatabase(ctx, srv, t.ID); err != nil {
		return 0, err
	}
	fpImportDatabase.Hit()
	bin, err := FindClient("pg_restore")
	if err != nil {
		return 0, err
	}
	db := tenantdb.Database(t.ID)
	restore, err := ownerClientCmd(ctx, bin, srv, t.ID, "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", "--dbname="+db, file)
	if err != nil {
		return 0, err
	}
	if _, err := runClient(restore); err != nil {
		return 0, err
	}
	if err := record(StepImportRestored); err != nil {
		return 0, err
	}
	if err := srv.Harden(ctx, t.ID); err != nil {
		return 0, err
	}
	if err := srv.SetDomain(ctx, t.ID, t.Domain); err != nil {
		return 0, err
	}
	if err := record(StepImportHardened); err != nil {
		return 0, err
	}
	if baseline > 0 {
		if _, err := srv.Baseline(ctx, t.ID, m.Migrations, baseline, false); err != nil {
			return 0, fmt.Errorf("baseline the restored database at version %d: %w", baseline, err)
		}
	}
	version, err := srv.Migrate(ctx, t.ID, m.Migrations, tenantdb.MigrateOptions{OwnerPassword: ownerPW})
	if err != nil {
		return version, fmt.Errorf("migrate the restored database to the latest schema: %w", err)
	}
	fpImportMigrated.Hit()
	// Migrations may have created tables: harden again so the app gets DML on them.
	if err := srv.Harden(ctx, t.ID); err != nil {
		return 0, err
	}
	if err := record(StepImportMigrated); err != nil {
		return 0, err
	}
	if err := srv.SetAppLogin(ctx, t.ID, true); err != nil {
		return 0, err
	}
	fpImportLogin.Hit()
	return version, nil
}

// undoImport drops whatever an import made on the server and purges the tenant, leaving
// a tombstone event.
func (m *Mover) undoImport(ctx context.Context, t catalog.Tenant, reason string) error {
	ctx = context.WithoutCancel(ctx)
	if err := m.dropCopyOn(ctx, t.Server, t.ID); err != nil {
		return err
	}
	fpImportUndone.Hit()
	if err := m.Store.DeleteCredentials(ctx, t.ID); err != nil {
		return err
	}
	state, now, none := catalog.StatePurged, time.Now(), ""
	return m.Store.UpdateTenant(ctx, t.ID, catalog.TenantUpdate{State: &state, Step: &none, PurgedAt: &now, ClearContact: true,
		LastError: &reason, Event: &catalog.Event{Action: "tenant.import.failed", Slug: t.Slug, Details: map[string]any{
			"tombstone": true, "server": t.Server, "database": tenantdb.Database(t.ID), "error": reason,
		}}})
}

// reconcileImports undoes imports that were interrupted (a rerun of the import starts it
// again from the dump).
func (m *Mover) reconcileImports(ctx context.Context, rep *repairs) error {
	tenants, err := m.Store.ListTenants(ctx, catalog.TenantFilter{States: []string{catalog.StateImporting}})
	if err != nil {
		return err
	}
	for _, t := range tenants {
		a := provisioner.Action{Kind: ActRollBackImport, Tenant: t.Slug, Server: t.Server,
			Detail: fmt.Sprintf("import from a dump was interrupted after step %q: undoing it (run the import again)", t.Step)}
		rep.do(a, "another tenantctl process is importing this tenant right now; left alone", nil, func() error {
			cur, unlock, err := m.lockAndReread(ctx, t.ID)
			if err != nil {
				return err
			}
			defer unlock()
			if cur.State != catalog.StateImporting {
				return nil
			}
			return m.undoImport(ctx, cur, "interrupted; undone by reconcile")
		})
	}
	return nil
}
