package audit

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// warehouseTarget is the registered warehouse, reachable and inspected.
type warehouseTarget struct {
	cfg *pgx.ConnConfig // as registered (probes replace user and password)
	db  string
	sem chan struct{}
}

// warehouseServer is how evidence names the warehouse.
const warehouseServer = "warehouse"

// checkWarehouse checks that PUBLIC holds nothing on the warehouse database and that no
// tenant role (nor any role named like one) can connect to it. An error means the
// audit cannot run (the key cannot unseal the DSN); an unreachable warehouse is a
// violation.
func (a *auditor) checkWarehouse(ctx context.Context) error {
	dsn, err := a.o.Store.WarehouseDSN(ctx)
	if errors.Is(err, catalog.ErrNoWarehouse) {
		a.notef("no warehouse is registered: the warehouse checks and probes were not run")
		return nil
	}
	if err != nil {
		return fmt.Errorf("warehouse: %w", err)
	}
	a.col.evaluated(CheckWarehouseReachable, "")
	cfg, err := dbconn.ParseConfig(dsn)
	if err != nil {
		a.col.violation(CheckWarehouseReachable, "", "", warehouseServer, "the registered warehouse DSN cannot be parsed: %v", err)
		return nil
	}
	ro := cfg.Copy()
	ro.RuntimeParams["default_transaction_read_only"] = "on"
	ro.RuntimeParams["application_name"] = "tenantctl-audit"
	ro.ConnectTimeout = a.o.ConnectTimeout
	conn, err := pgx.ConnectConfig(ctx, ro)
	if err != nil {
		a.col.violation(CheckWarehouseReachable, "", "", warehouseServer, "the warehouse cannot be inspected, so its isolation is unproven: %v",
			dbconn.ConnectError(ro.Host, ro.Port, ro.Database, err))
		return nil
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var db string
	var public []string
	err = conn.QueryRow(ctx, `
		SELECT current_database(),
		       coalesce((SELECT array_agg(a.privilege_type ORDER BY 1)
		                 FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
		                 WHERE d.datname = current_database() AND a.grantee = 0), '{}')`).Scan(&db, &public)
	if err != nil {
		a.col.violation(CheckWarehouseReachable, "", "", warehouseServer, "the warehouse cannot be inspected: %v", err)
		return nil
	}
	rows, err := conn.Query(ctx, `
		SELECT r.rolname FROM pg_roles r, pg_database d
		WHERE d.datname = current_database() AND starts_with(r.rolname, $1)
		  AND has_database_privilege(r.oid, d.oid, 'CONNECT')`, tenantdb.Prefix)
	if err != nil {
		a.col.violation(CheckWarehouseReachable, "", "", warehouseServer, "the warehouse cannot be inspected: %v", err)
		return nil
	}
	roles, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		a.col.violation(CheckWarehouseReachable, "", "", warehouseServer, "the warehouse cannot be inspected: %v", err)
		return nil
	}
	a.warehouse = &warehouseTarget{cfg: cfg, db: db, sem: make(chan struct{}, a.o.PerServer)}
	a.checkWarehouseObjects(ctx, conn, db)

	a.col.evaluated(CheckWarehouseACL, "")
	if len(public) > 0 {
		a.col.violation(CheckWarehouseACL, "", "", warehouseServer, "PUBLIC holds %s on the warehouse database %s", strings.Join(public, ", "), db)
	}
	canConnect := map[string]bool{}
	for _, r := range roles {
		canConnect[r] = true
	}
	accounted := map[string]bool{}
	for _, t := range a.audited {
		a.col.evaluated(CheckWarehouseTenantAccess, t.Slug)
		for _, role := range []string{tenantdb.OwnerRole(t.ID), tenantdb.AppRole(t.ID)} {
			accounted[role] = true
			if canConnect[role] {
				a.col.violation(CheckWarehouseTenantAccess, "", t.Slug, warehouseServer, "role %s can connect to the warehouse database %s", role, db)
			}
		}
	}
	if a.o.Tenant != "" {
		return nil
	}
	sort.Strings(roles)
	for _, role := range roles {
		if accounted[role] {
			continue
		}
		a.col.evaluated(CheckWarehouseTenantAccess, "")
		a.col.violation(CheckWarehouseTenantAccess, "", "", warehouseServer, "role %s (%s) can connect to the warehouse database %s", role, a.tenantOfName(role), db)
	}
	return nil
}
