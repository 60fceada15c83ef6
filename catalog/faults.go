package catalog

import "github.com/tenantctl/tenantctl/internal/fault"

// Kill points of the catalog's own multi-statement work (see package fault). A point
// inside a transaction dies with the transaction open: the server rolls it back.
var (
	fpRotateResealed     = fault.Register("secret.rotate.after-reseal", "key rotation: N values re-sealed in the open transaction (use :N)")
	fpRotateBeforeCommit = fault.Register("secret.rotate.before-commit", "key rotation: every value re-sealed and the event written, not committed")
	fpRotateCommitted    = fault.Register("secret.rotate.after-commit", "key rotation committed, the command not yet returned")
)
