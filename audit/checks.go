package audit

// Severities, most severe first.
const (
	Critical = "critical"
	High     = "high"
	Medium   = "medium"
	Low      = "low"
)

var severityRank = map[string]int{Critical: 0, High: 1, Medium: 2, Low: 3}

// Check ids. They are stable: scripts and past reports refer to them.
const (
	CheckServerReachable       = "server.reachable"
	CheckDBExists              = "db.exists"
	CheckDBOwner               = "db.owner"
	CheckDBObjectOwner         = "db.object_owner"
	CheckDBPublicACL           = "db.public_acl"
	CheckDBConnectRoles        = "db.connect_roles"
	CheckDBExtensions          = "db.extensions"
	CheckRoleAttributes        = "role.attributes"
	CheckRoleMembership        = "role.membership"
	CheckNamesOpaque           = "names.opaque"
	CheckWarehouseReachable    = "warehouse.reachable"
	CheckWarehouseACL          = "warehouse.acl"
	CheckWarehouseTenantAccess = "warehouse.tenant_connect"
	CheckOrphanDatabase        = "drift.orphan_database"
	CheckOrphanRole            = "drift.orphan_role"
	CheckMissingRole           = "drift.missing_role"
	CheckProbeOwn              = "probe.own_database"
	CheckProbeCross            = "probe.cross_tenant"
	CheckProbeWarehouse        = "probe.warehouse"
)

// CheckInfo documents one check.
type CheckInfo struct {
	ID string `json:"id"`
	// Severity is the check's usual severity; some findings of a check are rated
	// differently (said in their detail).
	Severity string `json:"severity"`
	// Scope is what one evaluation covers: tenant, role, server, attempt.
	Scope       string `json:"scope"`
	Description string `json:"description"`
}

// Checks lists every check the audit runs, in report order.
var Checks = []CheckInfo{
	{CheckServerReachable, Critical, "server", "the server the catalog names can be reached with its registered admin role; when it cannot, every tenant on it is reported and the rest of the fleet is still audited"},
	{CheckDBExists, Critical, "tenant", "the tenant database exists on the server the catalog names (not missing, not on another server)"},
	{CheckDBOwner, High, "tenant", "the tenant database is owned by the tenant's owner role"},
	{CheckDBObjectOwner, Medium, "tenant", "every schema, table, view, sequence, function and type in the tenant database is owned by the tenant's owner role"},
	{CheckDBPublicACL, Critical, "tenant", "PUBLIC holds no privilege on the tenant database (no CONNECT, no TEMPORARY), read from the actual ACL"},
	{CheckDBConnectRoles, Critical, "tenant", "only the tenant's own roles, the server's registered admin role and unexpired MSP access granted through tenantctl can connect, directly or through role membership"},
	{CheckDBExtensions, Critical, "tenant", "no cross-database extension (dblink, postgres_fdw, file_fdw), foreign data wrapper, foreign server or user mapping in the tenant database"},
	{CheckRoleAttributes, High, "role", "tenant roles have no SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS, the owner cannot log in, connections are limited, and a suspended or deleted tenant's app role cannot log in"},
	{CheckRoleMembership, Critical, "role", "tenant roles are members of no other tenant's roles and of no predefined role that reads across databases or the server (pg_read_all_data, pg_monitor, ...)"},
	{CheckNamesOpaque, High, "tenant and server", "no database name, role name, or database or role comment on any server contains the tenant's slug, display name or email domain"},
	{CheckWarehouseReachable, High, "fleet", "the registered warehouse can be reached and inspected"},
	{CheckWarehouseACL, Critical, "fleet", "PUBLIC holds no privilege on the warehouse database"},
	{CheckWarehouseTenantAccess, Critical, "role", "no tenant role (and no role named like one) can connect to the warehouse database"},
	{CheckOrphanDatabase, Medium, "database", "every database named like a tenant (t_...) on a server belongs to a catalog tenant on that server"},
	{CheckOrphanRole, Medium, "role", "every role named like a tenant (t_...) on a server belongs to a catalog tenant on that server"},
	{CheckMissingRole, High, "role", "every catalog tenant's owner and app roles exist on its server"},
	{CheckProbeOwn, High, "tenant", "live: the tenant's app credentials log in to its own database"},
	{CheckProbeCross, Critical, "attempt", "live: the tenant's app credentials are refused by other tenants' databases (all same-server neighbours up to a limit, plus a sample on other servers)"},
	{CheckProbeWarehouse, Critical, "tenant", "live: the tenant's app credentials are refused by the warehouse"},
}

func checkInfo(id string) CheckInfo {
	for _, c := range Checks {
		if c.ID == id {
			return c
		}
	}
	return CheckInfo{ID: id, Severity: Medium}
}

// predefinedCrossRoles are predefined roles whose members read or write across
// databases or the server: membership of a tenant role in any of them (directly or
// through other roles) breaks isolation.
var predefinedCrossRoles = map[string]bool{
	"pg_read_all_data":          true,
	"pg_write_all_data":         true,
	"pg_read_server_files":      true,
	"pg_write_server_files":     true,
	"pg_execute_server_program": true,
	"pg_read_all_settings":      true,
	"pg_read_all_stats":         true,
	"pg_monitor":                true,
	"pg_stat_scan_tables":       true,
}

// crossDatabaseExtensions reach other databases or the server's files.
var crossDatabaseExtensions = map[string]bool{
	"dblink":       true,
	"postgres_fdw": true,
	"file_fdw":     true,
	"adminpack":    true,
}
