// Package devenv runs a complete local tenantctl environment on private PostgreSQL
// clusters: a control cluster holding the catalog and warehouse databases, and N tenant
// servers, each with a least-privilege admin role. It initialises the catalog, registers
// the servers and the warehouse, generates the secret key and writes the config file
// that later commands read.
//
// It is for development and demos; production servers are registered by hand.
package devenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/jackc/pgerrcode"
	"github.com/tenantctl/tenantctl/backup"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/pghba"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/localpg"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
)

// AdminRole is the least-privilege role created on every dev tenant server.
const AdminRole = "tenantctl_admin"

// DefaultDir is where dev clusters live unless --dir says otherwise.
const DefaultDir = ".tenantctl/dev"

// Options configure [Up].
type Options struct {
	Dir        string
	Servers    int
	ConfigPath string
	// NoBackup leaves the tenant servers without pgBackRest even when it is installed.
	NoBackup bool
	Log      hclog.Logger
}

// Env is a running local environment.
type Env struct {
	// Dir is the directory asked for (--dir): it holds the secret key, and the clusters
	// unless they had to move to DataDir.
	Dir string
	// DataDir holds the clusters: Dir, or a directory under /var/tmp when the postgres
	// OS user cannot reach Dir (see Moved).
	DataDir string
	// Moved names the directory that kept the postgres OS user out of Dir, when the
	// clusters went to DataDir instead; "" otherwise.
	Moved      string
	ConfigPath string
	CatalogDSN string
	KeyFile    string
	Control    *localpg.Cluster
	Servers    map[string]*localpg.Cluster
	// Backup names the tenant servers that archive their WAL to a local pgBackRest
	// repository (stanza recorded and checked); NoBackup says why there are none.
	Backup   []string
	NoBackup string
}

// DevSpares is the warm pool each dev server keeps: a couple of spare databases so the
// first tenants are created from the pool.
const DevSpares = 2

// ServerName returns the name of the i-th dev server: pg-a, pg-b, …
func ServerName(i int) string {
	if i < 26 {
		return "pg-" + string(rune('a'+i))
	}
	return fmt.Sprintf("pg-%d", i+1)
}

// Up starts (or resumes) the environment; running it twice is harmless.
func Up(ctx context.Context, o Options) (*Env, error) {
	if o.Servers < 1 || o.Servers > 26 {
		return nil, validate.Field("servers", o.Servers, "use 1 to 26")
	}
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	env := &Env{Dir: dir, ConfigPath: o.ConfigPath, Servers: map[string]*localpg.Cluster{}}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if env.DataDir, env.Moved, err = placeData(dir); err != nil {
		return nil, err
	}
	// Tenant servers archive their WAL to a local pgBackRest repository when pgbackrest
	// is installed, so 'tenant restore --time' works on them.
	withBackup := !o.NoBackup && backup.Installed()
	switch {
	case o.NoBackup:
		env.NoBackup = "dev up ran with --no-backup: the dev servers have no backups"
	case !withBackup:
		env.NoBackup = NoPgBackRest
	}
	// Start every cluster concurrently: initdb dominates the time of a first `dev up`.
	names := []string{"control"}
	for i := 0; i < o.Servers; i++ {
		names = append(names, ServerName(i))
	}
	clusters := make([]*localpg.Cluster, len(names))
	g, gctx := errgroup.WithContext(ctx)
	for i, name := range names {
		g.Go(func() error {
			opts := localpg.Options{Dir: filepath.Join(env.DataDir, name)}
			if name != "control" {
				// Tenant servers run confined: the lines `tenantctl server hba` prints.
				opts.HBA = pghba.Lines(AdminRole, "")
				if withBackup {
					opts.Settings = serverBackupSettings(backupSettings(env.DataDir, name))
				}
			}
			c, err := localpg.Init(gctx, opts)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if opts.HBA != "" {
				// A cluster made by an older `dev up` gets them too.
				if err := c.WriteHBA(opts.HBA); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
			}
			if err := c.Start(gctx); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if opts.HBA != "" {
				// A cluster that was already running reads the lines now.
				if err := c.Reload(gctx); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
			}
			o.Log.Info("cluster running", "name", name, "port", c.Port)
			clusters[i] = c
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	env.Control = clusters[0]
	for i, name := range names[1:] {
		env.Servers[name] = clusters[i+1]
	}
	for _, db := range []string{"catalog", "warehouse"} {
		if err := createDatabase(ctx, env.Control.DSN("postgres"), db); err != nil {
			return nil, err
		}
	}
	env.CatalogDSN = env.Control.DSN("catalog")
	env.KeyFile = filepath.Join(dir, "secret.key")
	if _, err := os.Stat(env.KeyFile); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(env.KeyFile, []byte(secret.GenerateKey()+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	box, err := secret.LoadKey(env.KeyFile, "")
	if err != nil {
		return nil, err
	}
	if _, err := catalog.Init(ctx, env.CatalogDSN); err != nil {
		return nil, err
	}
	store, err := catalog.Open(ctx, env.CatalogDSN, box)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	prov := provisioner.New(store, o.Log)
	defer prov.Close()
	for _, name := range names[1:] {
		if _, err := store.GetServer(ctx, name); err == nil {
			continue
		}
		dsn, err := ensureAdminRole(ctx, env.Servers[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if _, err := prov.AddServer(ctx, provisioner.AddServerOptions{Name: name, DSN: dsn, Capacity: 1000,
			Labels: []string{"env=dev"}, Spares: DevSpares}); err != nil {
			return nil, err
		}
	}
	if withBackup {
		bg, bctx := errgroup.WithContext(ctx)
		for _, name := range names[1:] {
			bg.Go(func() error {
				if err := configureBackup(bctx, store, env.Servers[name], backupSettings(env.DataDir, name)); err != nil {
					return fmt.Errorf("%s: backups with pgBackRest: %w (dev up --no-backup goes without)", name, err)
				}
				o.Log.Info("pgBackRest stanza checked", "server", name)
				return nil
			})
		}
		if err := bg.Wait(); err != nil {
			return nil, err
		}
		env.Backup = names[1:]
	}
	if _, err := store.GetWarehouse(ctx); errors.Is(err, catalog.ErrNoWarehouse) {
		if _, err := prov.InitWarehouse(ctx, env.Control.DSN("warehouse")); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	// Fill the warm pools now, so the first tenant create does not wait for a clone.
	if _, err := prov.RefillPool(ctx, "", false); err != nil {
		return nil, err
	}
	if o.ConfigPath != "" {
		f, err := config.Load(o.ConfigPath, false)
		if err != nil {
			return nil, err
		}
		f.Catalog, f.SecretKeyFile, f.DevDir = env.CatalogDSN, env.KeyFile, dir
		if err := config.Write(o.ConfigPath, f); err != nil {
			return nil, err
		}
	}
	return env, nil
}

// Status reports the clusters of the environment asked for at dir.
func Status(ctx context.Context, dir string) ([]NamedStatus, error) {
	data := DataDir(dir)
	entries, err := os.ReadDir(data)
	if err != nil {
		return nil, validate.Errorf("no dev environment in %s: run `tenantctl dev up`", dir)
	}
	var out []NamedStatus
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := localpg.Open(filepath.Join(data, e.Name()))
		if err != nil {
			continue
		}
		out = append(out, NamedStatus{Name: e.Name(), Status: c.Status(ctx)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// NamedStatus is one cluster's status.
type NamedStatus struct {
	Name string `json:"name"`
	localpg.Status
}

// Down stops every cluster of the environment asked for at dir. purge also deletes
// what `dev up` and `demo` created: the clusters' data (wherever it went), dir with the
// secret key, the config file that points at dir, and the operator migrations the demo
// wrote beside it. It returns the paths it removed.
func Down(ctx context.Context, dir, configPath string, purge bool) (removed []string, err error) {
	st, err := Status(ctx, dir)
	if err != nil {
		return nil, err
	}
	data := DataDir(dir)
	var errs []error
	for _, s := range st {
		c, err := localpg.Open(filepath.Join(data, s.Name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if purge {
			errs = append(errs, c.Remove(ctx))
		} else {
			errs = append(errs, c.Stop(ctx))
		}
	}
	if err := errors.Join(errs...); err != nil || !purge {
		return nil, err
	}
	remove := func(p string) error {
		if _, err := os.Lstat(p); err != nil {
			return nil
		}
		if err := os.RemoveAll(p); err != nil {
			return err
		}
		removed = append(removed, p)
		return nil
	}
	if data != dir {
		if err := remove(data); err != nil {
			return removed, err
		}
	}
	if err := remove(dir); err != nil {
		return removed, err
	}
	if configPath != "" {
		if f, err := config.Load(configPath, false); err == nil && (sameDir(f.DevDir, dir) || sameDir(f.DevDir, data)) {
			if f.TenantMigrations != "" && sameDir(f.TenantMigrations, filepath.Join(filepath.Dir(configPath), DemoMigrationsDir)) {
				if err := remove(f.TenantMigrations); err != nil {
					return removed, err
				}
			}
			if err := remove(configPath); err != nil {
				return removed, err
			}
			// The .tenantctl directory itself, when nothing else is left in it.
			if os.Remove(filepath.Dir(configPath)) == nil {
				removed = append(removed, filepath.Dir(configPath))
			}
		}
	}
	return removed, nil
}

// DemoMigrationsDir is where, beside the config file, `tenantctl demo` writes its
// operator migrations.
const DemoMigrationsDir = "tenant-migrations"

// dataDirFile, in the directory asked for, names the directory the clusters went to
// when they could not live there.
const dataDirFile = "data-dir"

// DataDir returns where the clusters of the environment asked for at dir live: dir
// itself, or the directory recorded there by an earlier `dev up` that had to move them.
func DataDir(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	if b, err := os.ReadFile(filepath.Join(abs, dataDirFile)); err == nil {
		if p := strings.TrimSpace(string(b)); filepath.IsAbs(p) {
			return p
		}
	}
	return abs
}

// placeData decides where the clusters asked for at dir go: dir, unless the postgres OS
// user (we run as root) cannot reach it — then a directory under /var/tmp, recorded in
// dir so later commands find it. moved names the directory that was in the way.
func placeData(dir string) (data, moved string, err error) {
	if data := DataDir(dir); data != dir {
		blocker, _ := localpg.Unreachable(filepath.Join(dir, "control"))
		return data, blocker, nil
	}
	blocker, err := localpg.Unreachable(filepath.Join(dir, "control"))
	if err != nil || blocker == "" {
		return dir, "", err
	}
	if data, err = localpg.SharedDir(dir); err != nil {
		return "", "", err
	}
	// Searchable by the postgres OS user, who owns each cluster's own directory in it.
	if err := os.MkdirAll(data, 0o711); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(filepath.Join(dir, dataDirFile), []byte(data+"\n"), 0o600); err != nil {
		return "", "", err
	}
	return data, blocker, nil
}

func sameDir(a, b string) bool {
	a, _ = filepath.Abs(a)
	b, _ = filepath.Abs(b)
	return a == b
}

func createDatabase(ctx context.Context, dsn, name string) error {
	conn, err := dbconn.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if dbconn.HasCode(err, pgerrcode.DuplicateDatabase) {
		return nil
	}
	return err
}

// ensureAdminRole creates (or resets the password of) the least-privilege admin role on
// a dev server and returns its DSN.
func ensureAdminRole(ctx context.Context, c *localpg.Cluster) (string, error) {
	conn, err := dbconn.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// A generated key that only tenantctl and libpq's tools log in with: one PBKDF2
	// iteration (secret.KeyVerifier), so each of tenantctl's logins to a tenant
	// database (one per spare claimed through serve, one per tenant in a fleet run)
	// does not pay 4,096 on the client.
	password := secret.NewPassword()
	verifier, err := secret.KeyVerifier(password)
	if err != nil {
		return "", err
	}
	role := pgx.Identifier{AdminRole}.Sanitize()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, AdminRole).Scan(&exists); err != nil {
		return "", err
	}
	verb := "CREATE"
	if exists {
		verb = "ALTER"
	}
	// The verifier is a literal because utility statements take no parameters; it is
	// base64 and '$' only, and quoted as a literal all the same.
	stmt := fmt.Sprintf("%s ROLE %s LOGIN CREATEDB CREATEROLE NOSUPERUSER PASSWORD %s", verb, role, quoteLiteral(verifier))
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return "", fmt.Errorf("create admin role: %w", err)
	}
	// The audit reads the effective pg_hba.conf rules; without this its verdict is
	// incomplete.
	if _, err := conn.Exec(ctx, pghba.GrantSQL(AdminRole)); err != nil {
		return "", fmt.Errorf("let the admin role read pg_hba_file_rules: %w", err)
	}
	dsn := strings.Replace(c.DSN("postgres"), "postgres:"+c.Password+"@", AdminRole+":"+password+"@", 1)
	return dsn, nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
