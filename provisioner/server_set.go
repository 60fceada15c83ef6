package provisioner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// ErrOtherServer marks a new DSN that reaches another PostgreSQL server (or database)
// than the one registered. It is invalid input: nothing was changed.
var ErrOtherServer = errors.New("the new DSN reaches another server")

// ErrCannotProveSame marks a new DSN tenantctl cannot prove reaches the registered
// server: the old DSN does not connect any more and the server holds no tenant database
// to recognise it by.
var ErrCannotProveSame = errors.New("cannot prove the new DSN reaches the registered server")

// oldDSNTimeout bounds the attempt to reach a server through its old DSN (after a
// failover or a password rotation it may no longer answer, or refuse the login).
const oldDSNTimeout = 10 * time.Second

// SetServerDSN replaces a registered server's admin DSN (a rotated password, a new host
// name after a failover) after checking the new one: it logs in with enough privilege
// (PostgreSQL 14+, CREATEDB and CREATEROLE or superuser, and the same admin role, which
// the tenants' roles are granted to) and reaches the same server — the same system
// identifier as through the old DSN when that still connects, else a server holding
// every tenant database the catalog places there. The old DSN is forgotten (the sealed
// DSN is replaced). Refusals are invalid input and change nothing.
func (p *Provisioner) SetServerDSN(ctx context.Context, name, dsn string) (catalog.Server, error) {
	if dsn == "" {
		return catalog.Server{}, &validate.MissingError{Field: "dsn", What: "the server's new admin connection string"}
	}
	cur, err := p.Store.GetServer(ctx, name)
	if err != nil {
		return cur, err
	}
	info, err := tenantdb.InspectServer(ctx, dsn)
	if err != nil {
		return cur, fmt.Errorf("server %q: new DSN: %w", name, err)
	}
	if info.Role != cur.AdminRole {
		return cur, validate.Errorf("server %q: the new DSN logs in as %q but the server's admin role is %q, which every tenant role is granted to: "+
			"keep the role (rotate its password), or register the server again", name, info.Role, cur.AdminRole)
	}
	if err := p.sameServer(ctx, cur, info, dsn); err != nil {
		return cur, validate.Invalid(fmt.Errorf("server %q: %w", name, err))
	}
	servers, err := p.Store.ListServers(ctx)
	if err != nil {
		return cur, err
	}
	for _, s := range servers {
		if s.Name != name && s.Host == info.Host && s.Port == info.Port {
			return cur, validate.Errorf("server %s:%d is already registered as %q", info.Host, info.Port, s.Name)
		}
	}
	if err := p.Store.SetServerDSN(ctx, name, dsn, catalog.ServerConnection{
		Host: info.Host, Port: info.Port, AdminRole: info.Role, VersionNum: info.VersionNum,
	}); err != nil {
		return cur, err
	}
	p.Log.Info("server DSN changed", "server", name, "host", info.Host, "port", info.Port)
	return p.Store.GetServer(ctx, name)
}

// sameServer checks that info (from the new DSN, dsn) describes the registered server
// cur.
func (p *Provisioner) sameServer(ctx context.Context, cur catalog.Server, info tenantdb.ServerInfo, dsn string) error {
	oldDSN, err := p.Store.ServerDSN(ctx, cur.Name)
	if err != nil {
		return err
	}
	octx, cancel := context.WithTimeout(ctx, oldDSNTimeout)
	old, oerr := tenantdb.InspectServer(octx, oldDSN)
	cancel()
	if oerr == nil {
		if old.SystemID != info.SystemID {
			return fmt.Errorf("%w: system identifier %s, the registered server's is %s", ErrOtherServer, info.SystemID, old.SystemID)
		}
		return nil
	}
	// The old DSN no longer connects: recognise the server by its tenant databases.
	tenants, err := p.Store.ListTenants(ctx, catalog.TenantFilter{Server: cur.Name,
		States: []string{catalog.StateActive, catalog.StateSuspended, catalog.StateDeleting}})
	if err != nil {
		return err
	}
	if len(tenants) == 0 {
		return fmt.Errorf("%w: its old DSN does not connect (%s) and it holds no tenant database to recognise it by; remove it and add it again",
			ErrCannotProveSame, secret.Scrub(oerr.Error()))
	}
	names := make([]string, len(tenants))
	for i, t := range tenants {
		names[i] = tenantdb.Database(t.ID)
	}
	conn, err := dbconn.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var found int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = ANY($1)`, names).Scan(&found); err != nil {
		return err
	}
	if found != len(names) {
		return fmt.Errorf("%w: it holds %d of the %d tenant databases the catalog places on the registered server (whose old DSN does not connect: %s)",
			ErrOtherServer, found, len(names), secret.Scrub(oerr.Error()))
	}
	return nil
}

// SetServerCapacity changes how many tenants a server may hold (not below what it holds).
func (p *Provisioner) SetServerCapacity(ctx context.Context, name string, capacity int) error {
	if err := CheckCapacity(capacity); err != nil {
		return err
	}
	return p.Store.SetServerCapacity(ctx, name, capacity)
}

// SetServerLabels changes a server's labels: set are k=v pairs added or changed, remove
// are keys taken away. Tenants placed there whose requirements the new labels do not
// meet make it refused.
func (p *Provisioner) SetServerLabels(ctx context.Context, name string, set []string, remove []string) (map[string]string, error) {
	add, err := validate.Labels(set)
	if err != nil {
		return nil, err
	}
	cur, err := p.Store.GetServer(ctx, name)
	if err != nil {
		return nil, err
	}
	labels := map[string]string{}
	for k, v := range cur.Labels {
		labels[k] = v
	}
	for k, v := range add {
		labels[k] = v
	}
	for _, k := range remove {
		if _, ok := labels[k]; !ok {
			return nil, validate.Errorf("server %q has no label %q to remove", name, k)
		}
		delete(labels, k)
	}
	return labels, p.Store.SetServerLabels(ctx, name, labels)
}

// SetWarehouseDSN replaces the warehouse's DSN after checking that the new one reaches
// the same warehouse: the same server (system identifier) and database (its oid) as the
// old DSN when that still connects, else a database holding tenantctl's warehouse schema
// at the current version. The old DSN is forgotten.
func (p *Provisioner) SetWarehouseDSN(ctx context.Context, dsn string) (catalog.Warehouse, error) {
	if dsn == "" {
		return catalog.Warehouse{}, &validate.MissingError{Field: "dsn", What: "the warehouse's new connection string"}
	}
	cfg, err := dbconn.ParseConfig(dsn)
	if err != nil {
		return catalog.Warehouse{}, err
	}
	oldDSN, err := p.Store.WarehouseDSN(ctx)
	if err != nil {
		return catalog.Warehouse{}, err
	}
	newID, err := warehouseIdentity(ctx, dsn)
	if err != nil {
		return catalog.Warehouse{}, fmt.Errorf("warehouse: new DSN: %w", err)
	}
	if !newID.hasSchema {
		return catalog.Warehouse{}, validate.Invalid(fmt.Errorf("warehouse: %w: database %s has no tenantctl warehouse schema (tenantctl.watermarks)",
			ErrOtherServer, newID.database))
	}
	octx, cancel := context.WithTimeout(ctx, oldDSNTimeout)
	oldID, oerr := warehouseIdentity(octx, oldDSN)
	cancel()
	if oerr == nil && (oldID.systemID != newID.systemID || oldID.dbOID != newID.dbOID) {
		return catalog.Warehouse{}, validate.Invalid(fmt.Errorf("warehouse: %w: it reaches database %s (oid %d) of server %s, the registered warehouse is database %s (oid %d) of server %s",
			ErrOtherServer, newID.database, newID.dbOID, newID.systemID, oldID.database, oldID.dbOID, oldID.systemID))
	}
	w := catalog.Warehouse{Host: cfg.Host, Port: int(cfg.Port), Database: newID.database}
	if err := p.Store.SetWarehouseDSN(ctx, w, dsn); err != nil {
		return w, err
	}
	p.Log.Info("warehouse DSN changed", "host", w.Host, "port", w.Port, "database", w.Database)
	return p.Store.GetWarehouse(ctx)
}

type whIdentity struct {
	systemID, database string
	dbOID              uint32
	hasSchema          bool
}

func warehouseIdentity(ctx context.Context, dsn string) (whIdentity, error) {
	var id whIdentity
	conn, err := dbconn.Connect(ctx, dsn)
	if err != nil {
		return id, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	err = conn.QueryRow(ctx, `SELECT (SELECT system_identifier FROM pg_control_system())::text, current_database(),
		(SELECT oid FROM pg_database WHERE datname = current_database()), to_regclass('tenantctl.watermarks') IS NOT NULL`).
		Scan(&id.systemID, &id.database, &id.dbOID, &id.hasSchema)
	return id, err
}

// CheckCapacity is the rule a server's new capacity follows ([Provisioner.SetServerCapacity]):
// callers that change several settings at once check it before changing any.
func CheckCapacity(capacity int) error {
	if capacity < 1 {
		return validate.Field("capacity", capacity, "use 1 or more")
	}
	return nil
}

// CheckSpares is the rule a server's warm pool size follows ([AddServerOptions.Validate]).
func CheckSpares(spares int) error {
	if spares < 0 {
		return validate.Field("spares", spares, "it must be 0 or more")
	}
	return nil
}
