package localpg

import "errors"

// ErrNoBinaries is returned by [FindBinDir] and [Init] when no PostgreSQL server binaries
// (initdb, pg_ctl, postgres) can be found on this machine.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries found (initdb, pg_ctl, postgres): " +
	"install the PostgreSQL server package (Debian/Ubuntu: apt-get install postgresql), " +
	"or point TENANTCTL_CATALOG_DSN at an existing server, or run `docker compose up`")

// ErrNotInitialized is returned by [Open] when the directory holds no cluster made by
// this package.
var ErrNotInitialized = errors.New("no local cluster in this directory")
