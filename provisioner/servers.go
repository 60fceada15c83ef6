package provisioner

import (
	"context"
	"fmt"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/tenantdb"
	"github.com/tenantctl/tenantctl/warehouse"
)

// AddServerOptions describe a server to register.
type AddServerOptions struct {
	Name     string
	DSN      string
	Capacity int
	Labels   []string
	// CloneStrategy is how tenant databases are cloned from the template: file_copy
	// (default) or wal_log.
	CloneStrategy string
	// Spares is how many spare databases the server keeps ready (warm pool; default 0).
	Spares int
}

// Validate checks the options without touching any server.
func (o AddServerOptions) Validate() (map[string]string, error) {
	if err := validate.ServerName(o.Name); err != nil {
		return nil, err
	}
	if o.DSN == "" {
		return nil, &validate.MissingError{Field: "dsn", What: "the admin connection string of a role with CREATEDB and CREATEROLE"}
	}
	if _, err := dbconn.ParseConfig(o.DSN); err != nil {
		return nil, err
	}
	if o.Capacity < 1 {
		return nil, validate.Errorf("invalid capacity %d: it must be at least 1", o.Capacity)
	}
	if err := CheckSpares(o.Spares); err != nil {
		return nil, err
	}
	switch o.CloneStrategy {
	case "", "file_copy", "wal_log":
	default:
		return nil, validate.Errorf("invalid clone strategy %q: use file_copy or wal_log", o.CloneStrategy)
	}
	return validate.Labels(o.Labels)
}

// AddServer verifies a server (reachable, PostgreSQL 14+, CREATEDB and CREATEROLE) and
// registers it with its DSN sealed.
func (p *Provisioner) AddServer(ctx context.Context, o AddServerOptions) (catalog.Server, error) {
	labels, err := o.Validate()
	if err != nil {
		return catalog.Server{}, err
	}
	if _, err := p.Store.Box(ctx); err != nil {
		return catalog.Server{}, err
	}
	if _, err := p.Store.GetServer(ctx, o.Name); err == nil {
		return catalog.Server{}, validate.Errorf("server %q is already registered", o.Name)
	}
	info, err := tenantdb.InspectServer(ctx, o.DSN)
	if err != nil {
		return catalog.Server{}, fmt.Errorf("server %q: %w", o.Name, err)
	}
	// The same server under two names would hold twice the tenants its capacity says,
	// and be audited twice as two servers.
	servers, err := p.Store.ListServers(ctx)
	if err != nil {
		return catalog.Server{}, err
	}
	for _, s := range servers {
		if s.Host == info.Host && s.Port == info.Port {
			return catalog.Server{}, validate.Errorf("server %s:%d is already registered as %q", info.Host, info.Port, s.Name)
		}
	}
	if info.Superuser {
		p.Log.Warn("the admin role is a superuser: least privilege is not in force on this server; register it with a role that has only LOGIN CREATEDB CREATEROLE",
			"server", o.Name, "role", info.Role)
	}
	srv := catalog.Server{
		Name: o.Name, Host: info.Host, Port: info.Port, AdminRole: info.Role, VersionNum: info.VersionNum,
		Capacity: o.Capacity, Labels: labels, CloneStrategy: o.CloneStrategy, Spares: o.Spares,
	}
	if err := p.Store.AddServer(ctx, srv, o.DSN); err != nil {
		return catalog.Server{}, err
	}
	p.Log.Info("server registered", "server", o.Name, "host", info.Host, "port", info.Port, "role", info.Role)
	return p.Store.GetServer(ctx, o.Name)
}

// InitWarehouse migrates the warehouse at dsn, closes it to PUBLIC and registers it.
func (p *Provisioner) InitWarehouse(ctx context.Context, dsn string) (catalog.Warehouse, error) {
	if dsn == "" {
		return catalog.Warehouse{}, &validate.MissingError{Field: "dsn", What: "the warehouse database's connection string"}
	}
	cfg, err := dbconn.ParseConfig(dsn)
	if err != nil {
		return catalog.Warehouse{}, err
	}
	if _, err := p.Store.Box(ctx); err != nil {
		return catalog.Warehouse{}, err
	}
	db, err := warehouse.Init(ctx, dsn)
	if err != nil {
		return catalog.Warehouse{}, err
	}
	w := catalog.Warehouse{Host: cfg.Host, Port: int(cfg.Port), Database: db}
	if err := p.Store.RegisterWarehouse(ctx, w, dsn); err != nil {
		return catalog.Warehouse{}, err
	}
	p.Log.Info("warehouse registered", "host", w.Host, "port", w.Port, "database", db)
	return p.Store.GetWarehouse(ctx)
}
