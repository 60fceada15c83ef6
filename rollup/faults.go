package rollup

import "github.com/tenantctl/tenantctl/internal/fault"

// Kill points of a rollup run (see package fault).
var (
	fpRefreshed    = fault.Register("rollup.after-refresh", "a tenant's materialized views refreshed (spec refresh: true), snapshot not yet taken (use :N)")
	fpTableCopied  = fault.Register("rollup.after-table", "a table's rows written in the open warehouse transaction, its watermark queued (use :N)")
	fpBeforeCommit = fault.Register("rollup.before-commit", "a tenant's rows written in the open warehouse transaction; watermarks, COMMIT and unlock about to be sent (use :N)")
	fpTenantCommit = fault.Register("rollup.after-commit", "a tenant's rows committed to the warehouse, run not yet recorded (use :N)")
)
