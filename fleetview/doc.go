// Package fleetview assembles what the operator console and the HTTP API show about
// the fleet: the overview, the customer list with its warehouse figures, one customer's
// details. It reads the catalog, the warehouse and (for database sizes) the servers,
// with a bounded number of queries per page however many tenants there are, through
// the catalog, server handles and warehouse pool of the process's fleetenv.Env (which
// owns and closes them).
//
// It only reads. Every change goes through package provisioner, as the CLI's do, and it
// never returns a secret: no DSN, password or token is in any value it builds.
package fleetview
