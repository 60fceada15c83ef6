package rollout

import "github.com/tenantctl/tenantctl/internal/fault"

// Kill points of a fleet run (see package fault).
var (
	fpTenantMigrated = fault.Register("rollout.tenant.after-migrate", "a tenant migrated, its version not yet recorded in the catalog (use :N)")
	fpTenantRecorded = fault.Register("rollout.tenant.after-record", "a tenant's outcome recorded in the catalog (use :N)")
	fpTemplateBuilt  = fault.Register("rollout.template.after-ensure", "a server's template rebuilt; superseded ones not dropped, nothing recorded")
	fpTemplateSet    = fault.Register("rollout.template.after-record", "a server's templates done and recorded in the catalog")
	fpTemplateDrop   = fault.Register("rollout.template.after-drop", "one superseded template dropped (use :N)")
)
