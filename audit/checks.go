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

	// Checks against a careless or hostile server administrator.
	CheckServerBridges        = "server.bridges"
	CheckServerTenantObjects  = "server.tenant_objects"
	CheckDBInspectable        = "db.inspectable"
	CheckDBPrivileges         = "db.privileges"
	CheckDBObjects            = "db.objects"
	CheckDBSettings           = "db.settings"
	CheckDBDomain             = "db.domain"
	CheckRoleAccess           = "role.access"
	CheckRoleAdmin            = "role.admin"
	CheckRoleConfinement      = "role.confinement"
	CheckTemplatePrivileges   = "template.privileges"
	CheckWarehouseObjects     = "warehouse.objects"
	CheckProbeSharedDatabases = "probe.shared_database"

	// In-database doors a superuser can open, and whom they expose.
	CheckDBSystemObjects     = "db.system_objects"
	CheckDBSystemACL         = "db.system_acl"
	CheckDBNativeFunctions   = "db.native_functions"
	CheckDBBridgeTarget      = "db.bridge_target"
	CheckDBReplicationSlot   = "db.replication_slot"
	CheckDBLargeObjects      = "db.large_objects"
	CheckServerTablespaces   = "server.tablespaces"
	CheckTemplateConnectable = "template.closed"
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
	{CheckRoleAttributes, High, "role", "tenant roles have no SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS, the owner logs in only with tenantctl's own sealed password (a LOGIN for which the catalog holds none is reported), connections are limited, and a suspended or deleted tenant's app role cannot log in"},
	{CheckRoleMembership, Critical, "role", "tenant roles are members of no other tenant's roles and of no predefined role that reads across databases or the server (pg_read_all_data, pg_monitor, ...); the app role's confinement groups are role.confinement's business"},
	{CheckNamesOpaque, High, "tenant and server", "no database name, role name, or database or role comment on any server contains the tenant's slug, display name or email domain"},
	{CheckWarehouseReachable, High, "fleet", "the registered warehouse can be reached and inspected"},
	{CheckWarehouseACL, Critical, "fleet", "PUBLIC holds no privilege on the warehouse database"},
	{CheckWarehouseTenantAccess, Critical, "role", "no tenant role (and no role named like one) can connect to the warehouse database"},
	{CheckOrphanDatabase, Medium, "database", "every database named like a tenant (t_...) on a server belongs to a catalog tenant on that server"},
	{CheckOrphanRole, Medium, "role", "every role named like a tenant (t_...) on a server belongs to a catalog tenant on that server"},
	{CheckMissingRole, High, "role", "every catalog tenant's owner and app roles exist on its server"},
	{CheckProbeOwn, High, "tenant", "live: the tenant's app credentials, and its owner's (tenantctl's own login), log in to its own database"},
	{CheckProbeCross, Critical, "attempt", "live: the tenant's app and owner credentials are refused by other tenants' databases (all same-server neighbours up to a limit, plus a sample on other servers)"},
	{CheckProbeWarehouse, Critical, "tenant", "live: the tenant's app and owner credentials are refused by the warehouse"},
	{CheckServerBridges, Critical, "database", "no database on a server (postgres, template1, copies, anything tenantctl did not create) holds a cross-database extension, foreign data wrapper, foreign server, user mapping or subscription: any login that can connect there could reach a tenant through it"},
	{CheckServerTenantObjects, Critical, "role and database", "a tenant's roles own nothing and hold no privilege in any database but the tenant's own, and no other tenant's role does in it (read from pg_shdepend across every database, connectable or not): copies of a tenant's database are found by what they hold, not by their name"},
	{CheckDBInspectable, Critical, "tenant", "the tenant database accepts connections and is not a template, so its contents can be audited and nobody can clone it"},
	{CheckDBPrivileges, Critical, "tenant", "inside the tenant database nobody holds more than tenantctl grants: on schemas, tables, sequences, functions, default privileges and the database itself (CREATE, TEMPORARY)"},
	{CheckDBObjects, High, "tenant", "the tenant database holds no publication, subscription, event trigger, rule (other than views') or SECURITY DEFINER function"},
	{CheckDBSettings, Medium, "tenant", "no configuration setting is bound to the tenant database or to the tenant's roles (ALTER DATABASE/ROLE … SET)"},
	{CheckDBDomain, Medium, "tenant", "the tenant database carries the customer's email domain as tenantctl writes it (functions tenantctl_domain() and tenantctl_email_in_domain(email) in schema public), which the application's schema checks its users with"},
	{CheckRoleAccess, Critical, "role", "MSP access roles (msp_…) have no dangerous attribute, are members of nothing that reaches further than their one tenant, expire at the server no later than in the catalog, and are recorded in the catalog"},
	{CheckRoleAdmin, Critical, "server", "the registered admin role is no member of a predefined role that reads or writes across databases or the server's files, has no REPLICATION, and holds no standing membership in a tenant's roles (medium: it takes one for a transaction when it needs it; reconcile revokes one left by an older tenantctl)"},
	{CheckRoleConfinement, High, "role", "every tenant login (app role, owner role when it logs in) and MSP access login is a member of its tenant's group role (named like the database) and of tenantctl_logins, the two memberships the pg_hba.conf lines of 'tenantctl server hba' confine logins with; the group roles give no privilege"},
	{CheckTemplatePrivileges, High, "database", "the template databases new tenants are cloned from hold no objects owned by, and no privileges granted to, roles other than the template owner: whatever is there is copied into every new tenant"},
	{CheckWarehouseObjects, Critical, "fleet", "PUBLIC and tenant roles hold no privilege on the warehouse's schemas, tables and sequences"},
	{CheckDBSystemObjects, Critical, "tenant", "the system schemas (pg_catalog, information_schema) of the tenant database hold nothing initdb did not create (OID at or above 16384: functions, tables, views, types, operators, triggers); a SECURITY DEFINER function or a file reader there is reported with every tenant of the server it exposes"},
	{CheckDBSystemACL, Critical, "tenant", "the system functions, catalogs and schemas of the tenant database keep initdb's owner and access list (pg_init_privs): EXECUTE granted on pg_read_binary_file, pg_read_file, pg_ls_dir, lo_import and the like is reported with every tenant of the server it exposes"},
	{CheckDBNativeFunctions, Critical, "tenant", "no function in the tenant database is declared in LANGUAGE internal or c outside an extension (a file reader or a connector declared by hand); each is reported with every tenant of the server it exposes"},
	{CheckDBBridgeTarget, Critical, "tenant", "no foreign server, user mapping, dblink-style view or subscription anywhere in the fleet (another tenant's database, postgres, any database) reaches the tenant's database: each is reported under the tenant it reaches, resolved from its connection options (dbname, host, port) or its publisher's slot, as well as where it lives"},
	{CheckDBReplicationSlot, Critical, "tenant", "no logical replication slot is on the tenant database (it streams every change of the customer's rows to whoever consumes it), but the open logical move's own"},
	{CheckDBLargeObjects, Critical, "tenant", "no large object in the tenant database grants anything to a role but its owner (PUBLIC or another role: it reads the object with lo_get)"},
	{CheckServerTablespaces, High, "server and tenant", "no tablespace is owned by a tenant's role or lets PUBLIC or a tenant's role create in it; tablespace names and comments are held to names.opaque"},
	{CheckTemplateConnectable, Critical, "database", "every finished template is closed (no ALLOW_CONNECTIONS, nothing granted to PUBLIC) and, when found open, still fingerprints as recorded when it was built; a closed template is verified by every clone, which is fingerprinted before it is handed out (a template that drifted is rebuilt, not cloned)"},
	{CheckProbeSharedDatabases, High, "tenant", "live: the tenant's app credentials are refused by the server's shared databases (the 'tenantctl server hba' lines are installed): every probed tenant tries postgres, two per server template1 too"},
	{CheckSpare, High, "spare",
		"every ready spare database of a server's warm pool exists, is owned by its owner role, has an app role that cannot log in and has no password (checked when the admin may read pg_authid), and holds no rows; spares are not orphans"},
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
