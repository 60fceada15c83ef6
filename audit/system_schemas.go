package audit

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// serverReach matches the system functions (by name or C symbol) and catalogs through
// which a login in one database reaches the server's files, its other sessions or its
// roles: whoever may use them in any database of a server reaches every tenant on it.
var serverReach = regexp.MustCompile(`^(pg_read_file|pg_read_binary_file|pg_ls_|pg_stat_file|lo_import|lo_export|be_lo_import|be_lo_export|` +
	`pg_file_|pg_logdir_ls|pg_terminate_backend|pg_cancel_backend|pg_signal_backend|pg_reload_conf|pg_rotate_logfile|pg_promote|` +
	`dblink|pg_authid|pg_create_logical_replication_slot|pg_logical_slot_|pg_copy_logical_replication_slot|pg_replication_origin)`)

// reachesServer reports whether a system finding opens a door to the whole server: a
// native function declared by hand (it runs any C code it names), anything SECURITY
// DEFINER in the system schemas (it runs as its owner, a superuser), and a changed
// access list on a system function or catalog that reads files, signals sessions or
// reads the roles' passwords.
func reachesServer(f tenantdb.SystemFinding) bool {
	return f.Kind == "native" || strings.Contains(f.What, "SECURITY DEFINER") ||
		serverReach.MatchString(f.Name) || (f.Symbol != "" && serverReach.MatchString(f.Symbol))
}

// exposures collects, per server, the tenant databases holding a door to the whole
// server, found while the databases are inspected (concurrently).
type exposures struct {
	mu sync.Mutex
	// doors maps server -> tenant slug -> what opens the door.
	doors map[string]map[string][]string
}

func (e *exposures) add(server, slug, what string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.doors == nil {
		e.doors = map[string]map[string][]string{}
	}
	if e.doors[server] == nil {
		e.doors[server] = map[string][]string{}
	}
	e.doors[server][slug] = append(e.doors[server][slug], what)
}

// checkSystem reports what the tenant database's system schemas hold that initdb did
// not leave there, and functions declared in a native language outside an extension.
func (a *auditor) checkSystem(t catalog.Tenant, c tenantdb.Contents) {
	db := tenantdb.Database(t.ID)
	for _, id := range []string{CheckDBSystemObjects, CheckDBSystemACL, CheckDBNativeFunctions} {
		a.col.evaluated(id, t.Slug)
	}
	for _, f := range c.System {
		reach := reachesServer(f)
		tail := ""
		if reach {
			tail = fmt.Sprintf(": a login to it reaches the server's files or sessions, and so every tenant on server %s (those tenants are named too)", t.Server)
			a.exposed.add(t.Server, t.Slug, f.What)
		}
		switch f.Kind {
		case "added":
			a.col.violation(CheckDBSystemObjects, "", t.Slug, t.Server, "%s is in a system schema of database %s, where initdb did not put it%s", f.What, db, tail)
		case "acl":
			a.col.violation(CheckDBSystemACL, "", t.Slug, t.Server, "in database %s, system object %s, which initdb did not%s", db, f.What, tail)
		case "native":
			a.col.violation(CheckDBNativeFunctions, "", t.Slug, t.Server, "in database %s, %s, outside any extension%s", db, f.What, tail)
		}
	}
}

// maxDoorsNamed bounds the tenant databases one exposure finding names one by one.
const maxDoorsNamed = 5

// checkExposures names, for every server where some tenant database holds a door to
// the whole server, every other tenant on that server: they are the ones exposed.
func (a *auditor) checkExposures() {
	for _, name := range a.names {
		doors := a.exposed.doors[name]
		if len(doors) == 0 {
			continue
		}
		slugs := make([]string, 0, len(doors))
		for slug := range doors {
			slugs = append(slugs, slug)
		}
		sort.Strings(slugs)
		for _, t := range a.servers[name].tenants {
			if !a.inScope(t.Slug) {
				continue
			}
			var where []string
			for _, slug := range slugs {
				if slug == t.Slug {
					continue
				}
				if len(where) == maxDoorsNamed {
					where = append(where, fmt.Sprintf("and %d more", len(slugs)-maxDoorsNamed))
					break
				}
				sort.Strings(doors[slug])
				where = append(where, fmt.Sprintf("tenant %s (%s)", slug, strings.Join(doors[slug], "; ")))
			}
			if len(where) == 0 {
				continue
			}
			a.col.violation(CheckDBSystemObjects, Critical, t.Slug, name,
				"this tenant's table files and sessions on server %s are exposed through the system schemas of other tenants' databases: %s",
				name, strings.Join(where, ", "))
		}
	}
}
