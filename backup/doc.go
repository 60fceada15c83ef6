// Package backup owns server backups with pgBackRest: each registered server's stanza
// (its settings recorded in the catalog), the pgbackrest.conf and postgresql.conf
// settings a superuser installs ([Conf], [ServerSettings]), checking them ([Check]),
// running backups ([Run], a job in the shared job history), reading a repository's
// backups and the restorable window ([List]), and restoring one database of a server to
// a point in time into a private scratch instance ([RestoreScratch]) that a caller
// copies from and then removes.
//
// pgBackRest reads the server's data directory, so tenantctl runs it on the host that
// holds that directory, as the directory's owner (when tenantctl runs as root). No
// password passes through this package: pgbackrest reaches the server on its Unix socket
// as the recorded user, authenticated by peer or by a password file the operator keeps
// (only its path is recorded).
//
// It knows nothing of CLI flags and never prints. Putting a restored database back into
// the fleet (in place, or as a new customer) is package mover's work.
package backup
