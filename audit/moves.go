package audit

import (
	"context"
	"fmt"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// A move by logical replication (tenantctl tenant move --method logical) publishes the
// tenant database on the source server and subscribes to it from the copy on the target,
// both named tenantdb.MoveReplicationName(move id). While that move is open they are
// tenantctl's own and not findings; any other publication or subscription still is, and
// so are these once the move has ended (reconcile drops what a killed move left).

// openLogicalMoves returns the catalog's open logical moves by tenant id.
func openLogicalMoves(ctx context.Context, st *catalog.Store) (map[string]catalog.Move, error) {
	moves, err := st.ListMoves(ctx, catalog.MoveFilter{Statuses: []string{catalog.MoveMoving}})
	if err != nil {
		return nil, fmt.Errorf("list moves: %w", err)
	}
	out := map[string]catalog.Move{}
	for _, m := range moves {
		if m.Method == catalog.MoveMethodLogical {
			out[m.TenantID] = m
		}
	}
	return out, nil
}

// movePublication reports whether object (as the in-database inspection names it) is
// the publication of t's open logical move, in t's database on the move's source.
func (a *auditor) movePublication(t catalog.Tenant, object string) bool {
	m, ok := a.logicalMoves[t.ID]
	return ok && t.Server == m.Source &&
		// quote_ident leaves the name as it is: lowercase letters, digits and '_'.
		object == "publication "+tenantdb.MoveReplicationName(m.ID)
}

// moveSubscription reports whether sub, found on server, is the subscription of an open
// logical move: in the tenant's database copy on the move's target.
func (a *auditor) moveSubscription(server string, sub tenantdb.Subscription) bool {
	id, ok := tenantdb.ParseName(sub.Database)
	if !ok || sub.Database != tenantdb.Database(id) {
		return false
	}
	m, ok := a.logicalMoves[id]
	return ok && server == m.Target && sub.Name == tenantdb.MoveReplicationName(m.ID)
}

// keptCopy reports whether database db on server is the copy an in-place restore keeps
// (tenantdb.KeptCopy), recorded in the catalog for a live tenant: tenantctl's own, not
// an orphan. Its isolation is still checked wherever every database is.
func (a *auditor) keptCopy(server, db string) bool {
	id, ok := a.restoreCopies[server][db]
	if !ok {
		return false
	}
	pid, _, ok := tenantdb.ParseKeptCopy(db)
	t, live := a.byID[id]
	return ok && pid == id && live && t.Live()
}
