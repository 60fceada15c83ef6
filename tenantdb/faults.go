package tenantdb

import "github.com/tenantctl/tenantctl/internal/fault"

// Kill points between the statements that change a server (see package fault). Crash
// tests run the real binary with TENANTCTL_FAULT naming one and check that a rerun or
// reconcile converges.
var (
	fpDatabaseCreated   = fault.Register("tenantdb.database.after-create", "tenant database created, PUBLIC not yet revoked")
	fpDatabaseRevoked   = fault.Register("tenantdb.database.after-revoke-public", "tenant database created and closed to PUBLIC")
	fpDatabaseAdopted   = fault.Register("tenantdb.database.after-adopt", "template-owned objects of a clone handed to the tenant owner")
	fpBaselineReference = fault.Register("tenantdb.baseline.after-reference", "a baseline's scratch reference database created, not yet migrated or dropped")
	fpBaselineRecorded  = fault.Register("tenantdb.baseline.after-record", "a baseline's versions written to goose's table, not yet committed")
	fpTemplateLocked    = fault.Register("tenantdb.template.after-lock", "template build lock taken, nothing built yet")
	fpTemplateCreated   = fault.Register("tenantdb.template.after-create", "template database created, not migrated")
	fpTemplateMigrated  = fault.Register("tenantdb.template.after-migrate", "template migrated, not finished")
	fpTemplateFinishing = fault.Register("tenantdb.template.after-finish-statement", "between the statements that finish a template (use :N for the Nth)")
	fpTemplateDropped   = fault.Register("tenantdb.template.after-unmark", "template unmarked (IS_TEMPLATE false), not yet dropped")
	fpLoginAltered      = fault.Register("tenantdb.login.after-alter", "app role LOGIN/NOLOGIN changed, sessions not yet terminated")
	fpRevokeAccess      = fault.Register("tenantdb.revoke-access.after-statement", "between the statements that close a deleted tenant (use :N)")
	fpRoleDropped       = fault.Register("tenantdb.roles.after-drop", "one tenant role dropped (use :2 for the second)")
	fpAccessRole        = fault.Register("tenantdb.access.after-role", "MSP access role created, no privileges in the tenant database yet")
	fpAccessDropOwned   = fault.Register("tenantdb.access.after-drop-owned", "MSP access role's privileges removed, role not yet dropped")
)

// Kill points of the role design in which the admin holds no standing membership in
// tenant roles (docs/performance.md, "Role design").
var (
	fpDropTakenOver    = fault.Register("tenantdb.drop.after-take-over", "database to drop handed to the admin role, not yet dropped")
	fpOwnerNoLogin     = fault.Register("tenantdb.owner-login.after-nologin", "a deleted tenant's (or a move's kept source's) owner made NOLOGIN, its sessions not yet ended")
	fpMembershipRevoke = fault.Register("tenantdb.admin-membership.after-revoke", "one of the admin's standing memberships in a tenant role revoked (use :N)")
)
