package localpg

import (
	"errors"
	"fmt"
)

// ErrNoBinaries is returned by [FindBinDir] and [Init] when no PostgreSQL server binaries
// (initdb, pg_ctl, postgres) can be found on this machine.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries found (initdb, pg_ctl, postgres): " +
	"install the PostgreSQL server package (Debian/Ubuntu: apt-get install postgresql), " +
	"or point TENANTCTL_CATALOG_DSN at an existing server, or run `docker compose up`")

// ErrNotInitialized is returned by [Open] when the directory holds no cluster made by
// this package.
var ErrNotInitialized = errors.New("no local cluster in this directory")

// UnreachableError is returned by [Init] when, running as root, the cluster directory
// lies below a directory the postgres OS user cannot search (a home directory with mode
// 0700, typically). [SharedDir] gives a directory it can reach.
type UnreachableError struct {
	Dir, Blocker string
}

func (e *UnreachableError) Error() string { return e.Render("") }

// Render is the message with the way to choose another directory given as dirOption
// (a CLI flag followed by a space, or "").
func (e *UnreachableError) Render(dirOption string) string {
	return fmt.Sprintf("the postgres OS user cannot reach %s: %s is not searchable by other users; "+
		"choose a directory elsewhere (e.g. %s/var/tmp/tenantctl) or run chmod o+x %s", e.Dir, e.Blocker, dirOption, e.Blocker)
}

// SharedRootError is returned by [SharedDir] when the shared root exists but is not a
// directory owned by this user and writable by this user alone.
type SharedRootError struct {
	Root string
}

func (e *SharedRootError) Error() string { return e.Render("another directory") }

// Render is the message with the way to choose another directory given as choose.
func (e *SharedRootError) Render(choose string) string {
	return fmt.Sprintf("%s is not a directory owned by you and writable only by you: remove it, or choose %s", e.Root, choose)
}
