package audit

import (
	"context"
	"strings"

	"github.com/tenantctl/tenantctl/tenantdb"
)

// checkTemplates holds every finished template to being closed to logins (a template
// anyone can enter can be changed by anyone with rights there, and its changes are
// copied into every new tenant), and fingerprints a template found open against the
// fingerprint recorded when it was built. A closed template is verified by every clone
// instead: each clone is fingerprinted before it is handed out, and a template that
// drifted is rebuilt, not cloned.
func (a *auditor) checkTemplates(ctx context.Context) {
	if !a.inScope("") {
		return
	}
	for name, s := range a.reachableServers() {
		for _, db := range namesWithPrefix(s.snap.Databases, tenantdb.TemplatePrefix) {
			d := s.snap.Databases[db]
			if !d.IsTemplate {
				continue // being built (or half-built: reconcile drops it)
			}
			a.col.evaluated(CheckTemplateConnectable, "")
			var open []string
			if d.AllowConn {
				open = append(open, "accepts connections (ALLOW_CONNECTIONS true)")
			}
			if privs := d.PublicPrivileges(); len(privs) > 0 {
				open = append(open, "grants PUBLIC "+strings.Join(privs, ", "))
			}
			if len(open) > 0 {
				a.col.violation(CheckTemplateConnectable, "", "", name, "template %s on server %s %s: whoever enters it can change what every new tenant gets (tenantctl closes it when it builds it; drop it and the next create rebuilds it)",
					db, name, strings.Join(open, " and "))
			}
			want, err := a.o.Store.TemplateFingerprint(ctx, name, db)
			if err != nil {
				a.col.unproven(err, CheckTemplateConnectable, High, "", name, "the fingerprint of template %s on server %s could not be read from the catalog: %v", db, name, err)
				continue
			}
			if want == "" {
				a.notef("template %s on server %s has no recorded fingerprint (built before fingerprints): the next clone rebuilds it", db, name)
				continue
			}
			if !d.AllowConn {
				continue // verified by every clone
			}
			got, err := s.handle.Fingerprint(ctx, db)
			if err != nil {
				if ctx.Err() == nil {
					a.col.unproven(err, CheckTemplateConnectable, High, "", name, "open template %s on server %s could not be fingerprinted: %v", db, name, err)
				}
				continue
			}
			if got != want {
				a.col.violation(CheckTemplateConnectable, "", "", name, "template %s on server %s changed since it was built (its fingerprint differs from the one recorded then): the next clone rebuilds it", db, name)
			}
		}
	}
}
