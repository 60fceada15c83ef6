package audit

import (
	"context"
	"fmt"
	"strings"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// CheckSpare proves the warm pool is inert: a spare database waiting to be claimed
// can be reached by nobody and holds nothing.
const CheckSpare = "pool.spare"

// loadSpares reads the warm pools from the catalog: their databases and roles are
// known to the drift checks, not orphans. It runs before the servers are read and again
// after (a spare made meanwhile was recorded before its database; one dropped meanwhile
// was known before): what either read knew is known, the later read's state wins.
func (a *auditor) loadSpares(ctx context.Context) error {
	spares, err := a.o.Store.ListSpares(ctx, "")
	if err != nil {
		return fmt.Errorf("list spares: %w", err)
	}
	if a.spares == nil {
		a.spares = map[string]map[string]catalog.Spare{}
	}
	seen := map[string]bool{}
	for _, sp := range spares {
		if a.spares[sp.Server] == nil {
			a.spares[sp.Server] = map[string]catalog.Spare{}
		}
		a.spares[sp.Server][sp.ID] = sp
		seen[sp.ID] = true
	}
	for _, byID := range a.spares {
		for id, sp := range byID {
			if !seen[id] {
				sp.State = catalog.SpareDropping // gone (claimed or dropped): known, not checked
				byID[id] = sp
			}
		}
	}
	return nil
}

// isSpare reports whether id is a spare of the warm pool of server.
func (a *auditor) isSpare(server, id string) bool {
	_, ok := a.spares[server][id]
	return ok
}

// checkSpares inspects every ready spare of every reachable server (fleet audits only).
func (a *auditor) checkSpares(ctx context.Context) {
	if a.o.Tenant != "" {
		return
	}
	unknownPassword := false
	defer func() {
		if unknownPassword {
			a.notef("spare databases: whether a spare's app role has a password was not checked (only a superuser may read pg_authid); LOGIN and rows were")
		}
	}()
	for name, s := range a.reachableServers() {
		inv := s.snap.Inventory()
		for id, sp := range a.spares[name] {
			if sp.State != catalog.SpareReady {
				continue // being built or dropped right now
			}
			a.col.evaluated(CheckSpare, "")
			var problems []string
			db, ok := inv.Databases[tenantdb.Database(id)]
			if !ok {
				problems = append(problems, "its database is missing")
			} else if db.Owner != tenantdb.OwnerRole(id) {
				problems = append(problems, "its database is owned by "+db.Owner)
			}
			if pub := db.PublicPrivileges(); ok && len(pub) > 0 {
				problems = append(problems, "PUBLIC holds "+strings.Join(pub, ", "))
			}
			app, appOK := inv.Roles[tenantdb.AppRole(id)]
			if !appOK {
				problems = append(problems, "its app role is missing")
			} else if app.CanLogin {
				problems = append(problems, "its app role can log in")
			}
			if owner, ok := inv.Roles[tenantdb.OwnerRole(id)]; ok && owner.CanLogin {
				problems = append(problems, "its owner role can log in")
			}
			// One spare at a time: at most one connection per server here.
			if appOK {
				if st, err := s.handle.InspectSpare(ctx, id); err != nil {
					problems = append(problems, "could not be inspected: "+err.Error())
				} else if st.AppPassword == nil {
					unknownPassword = true
				} else if *st.AppPassword {
					problems = append(problems, "its app role has a password")
				}
			}
			if ok {
				if full, err := s.handle.HasRows(ctx, tenantdb.Database(id)); err != nil {
					problems = append(problems, "could not be read: "+err.Error())
				} else if len(full) > 0 {
					problems = append(problems, "it holds rows in "+strings.Join(full, ", "))
				}
			}
			if len(problems) > 0 {
				a.col.violation(CheckSpare, "", "", name, "spare database %s on server %s: %s",
					tenantdb.Database(id), name, strings.Join(problems, "; "))
			}
		}
	}
}
