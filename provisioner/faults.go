package provisioner

import "github.com/tenantctl/tenantctl/internal/fault"

// Kill points between the statements that change the catalog or a server (see package
// fault); points inside one server call live in tenantdb.
var (
	fpCreateSlugLocked = fault.Register("provision.slug-locked", "the slug's create lock taken, catalog not yet read")
	fpCreateInserted   = fault.Register("provision.after-insert", "tenant row inserted (state provisioning) with its sealed passwords, at step credentials")
	fpCredentialStored = fault.Register("provision.credentials.after-store", "app and owner passwords stored (a fresh create: with the tenant row and its step record)")
	// The owner login (a tenant made before owner logins, converted by reconcile).
	fpOwnerCredentialStored = fault.Register("owner-login.after-credential", "owner password sealed in the catalog, owner role still NOLOGIN")
	fpOwnerLogin            = fault.Register("owner-login.after-server", "owner role LOGIN with its password and confined, nothing else done")
	fpStepDone              = map[string]*fault.Point{}
	fpStepRecorded          = map[string]*fault.Point{}

	fpRotatePending  = fault.Register("rotate.after-pending", "new password stored as pending, server unchanged")
	fpRotateServer   = fault.Register("rotate.after-server", "server has the new password, catalog still pending")
	fpRotatePromoted = fault.Register("rotate.after-promote", "new password promoted, event not yet written")

	fpSuspendServer  = fault.Register("suspend.after-server", "app role NOLOGIN, catalog still active")
	fpSuspendCatalog = fault.Register("suspend.after-catalog", "catalog suspended, warehouse dimension not updated")

	fpCancelDeleteServer  = fault.Register("cancel-delete.after-server", "deleted tenant's app role may connect again (still NOLOGIN), catalog still deleting")
	fpCancelDeleteCatalog = fault.Register("cancel-delete.after-catalog", "catalog suspended again, warehouse dimension not updated")
	fpResumeServer        = fault.Register("resume.after-server", "app role LOGIN, catalog still suspended")
	fpResumeCatalog       = fault.Register("resume.after-catalog", "catalog active, warehouse dimension not updated")

	fpDeleteGrants  = fault.Register("delete.after-grants", "MSP grants revoked, tenant still open")
	fpDeleteServer  = fault.Register("delete.after-server", "tenant closed on its server, catalog not yet deleting")
	fpDeleteCatalog = fault.Register("delete.after-catalog", "catalog deleting, warehouse dimension and --purge not done")

	fpPurgeMarked      = fault.Register("purge.after-mark", "purge recorded as started, nothing dropped")
	fpPurgeDatabase    = fault.Register("purge.after-drop-database", "tenant database dropped, roles remain")
	fpPurgeRoles       = fault.Register("purge.after-drop-roles", "database and roles dropped, warehouse rows remain")
	fpPurgeWarehouse   = fault.Register("purge.after-warehouse", "warehouse rows deleted, credentials remain")
	fpPurgeCredentials = fault.Register("purge.after-credentials", "credentials erased, tenant not yet purged")

	fpGrantRecorded = fault.Register("access.grant.after-record", "grant recorded in the catalog, no role on the server")
	fpGrantServer   = fault.Register("access.grant.after-server", "access role complete on the server, command not yet returned")
	fpRevokeRecord  = fault.Register("access.revoke.after-record", "grant removed from the catalog, role still on the server")

	fpReconcileAction = fault.Register("reconcile.after-action", "one reconcile fix applied (use :N for the Nth)")

	// The warm pool (pool.go): a claim, and a refill building or dropping spares.
	fpClaimed           = fault.Register("pool.claim.after-claim", "spare claimed: tenant recorded at step claimed, app role still NOLOGIN without a password")
	fpClaimDomain       = fault.Register("pool.claim.after-domain", "claimed tenant's database carries its domain and its app and owner roles their passwords and LOGIN (one transaction), tenant not yet active")
	fpClaimActivated    = fault.Register("pool.claim.after-activate", "claimed tenant's app role has its password and LOGIN, its database its domain (one transaction), tenant not yet active")
	fpSpareRecorded     = fault.Register("pool.spare.after-record", "spare recorded as building, nothing on the server (use :N)")
	fpSpareRoles        = fault.Register("pool.spare.after-roles", "spare's roles made, no database (use :N)")
	fpSpareDatabase     = fault.Register("pool.spare.after-database", "spare database cloned from the template, not hardened (use :N)")
	fpSpareHardened     = fault.Register("pool.spare.after-harden", "spare hardened, not yet marked ready (use :N)")
	fpSpareRetired      = fault.Register("pool.drop.after-retire", "spare marked dropping, its database and roles remain (use :N)")
	fpSpareDbDropped    = fault.Register("pool.drop.after-database", "spare database dropped, its roles remain (use :N)")
	fpSpareRolesDropped = fault.Register("pool.drop.after-roles", "spare database and roles dropped, catalog row remains (use :N)")
)

func init() {
	for _, s := range createSteps {
		fpStepDone[s] = fault.Register("provision."+s+".before-record", "step "+s+" done on the server, not recorded")
		fpStepRecorded[s] = fault.Register("provision."+s+".after-record", "step "+s+" recorded, next step not started")
	}
}
