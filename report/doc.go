// Package report owns per-customer reports (Service Manager's "linked reports"): a spec
// of named SQL queries over the warehouse, each bound to one tenant id, run for one
// customer and rendered as Markdown, HTML, CSV or JSON.
//
// Every query must take the tenant id as the bound parameter $1 (and no other
// parameter): a spec whose query does not is refused when it loads, so a report for one
// customer cannot be written to contain another's rows by forgetting the filter. Queries
// run in a read-only transaction. The package reads the warehouse only; it never writes
// it, never connects to a tenant database, and knows nothing of HTTP or the CLI.
package report
