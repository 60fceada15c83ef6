package rollout

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// TemplateOutcome is what a run did to one server's template database.
type TemplateOutcome struct {
	Server   string `json:"server"`
	Template string `json:"template"`
	Version  int64  `json:"version"`
	// Built is true when the template was built by this run (false: it was there).
	Built bool `json:"built"`
	// Dropped are the superseded templates removed from the server.
	Dropped []string `json:"dropped,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// rebuildTemplates makes every registered server hold the template for the set (built
// once per set: templates are named by the set's hash), records it in the catalog, and
// drops the server's other tenantctl templates, so new tenants are created at the
// version the fleet is at. Servers are handled concurrently (bounded like tenants).
// Servers the catalog already records with this set's template are skipped unless
// Verify.
func rebuildTemplates(ctx context.Context, o *Options, srvs *fleet.Servers, set Set) ([]TemplateOutcome, error) {
	return templatesFor(ctx, o, srvs, set, true)
}

// templatesFor is rebuildTemplates; record false builds and drops without recording the
// template in the catalog (the background rebuild of a run not yet known to succeed).
func templatesFor(ctx context.Context, o *Options, srvs *fleet.Servers, set Set, record bool) ([]TemplateOutcome, error) {
	list, err := o.Store.ListServers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list servers: %w", err)
	}
	if !o.Verify {
		// The catalog's record is the fast path here too: servers it records as holding
		// this set's template are left alone, so a no-op run opens no server connection.
		// (A template dropped behind tenantctl's back is rebuilt by the next tenant
		// create, or by a run with Verify.)
		var stale []catalog.Server
		for _, info := range list {
			if info.TemplateDB != tenantdb.TemplateName(set.Hash) || info.TemplateHash != set.Hash ||
				info.TemplateVersion == nil || *info.TemplateVersion != set.Latest {
				stale = append(stale, info)
			}
		}
		list = stale
	}
	outs := make([]TemplateOutcome, len(list))
	errs := make([]error, len(list))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Concurrency)
	for i, info := range list {
		g.Go(func() error {
			out := &outs[i]
			out.Server = info.Name
			srv, err := srvs.Get(gctx, info.Name)
			if err != nil {
				errs[i] = err
				return nil
			}
			t, err := srv.EnsureTemplate(gctx, set.FS)
			out.Template, out.Version, out.Built = t.Name, t.Version, t.Built
			if err != nil {
				errs[i] = fmt.Errorf("rebuilding the template on server %s failed: %w", info.Name, err)
				return nil
			}
			fpTemplateBuilt.Hit()
			if t.Built {
				o.Log.Info("template rebuilt", "server", info.Name, "template", t.Name, "version", t.Version)
				// Every clone is checked against it (a template with none is rebuilt).
				if err := o.Store.SetTemplateFingerprint(gctx, info.Name, t.Name, t.Fingerprint); err != nil {
					errs[i] = err
					return nil
				}
			}
			names, err := srv.ListTemplates(gctx)
			if err != nil {
				errs[i] = fmt.Errorf("list templates on server %s: %w", info.Name, err)
				return nil
			}
			for _, name := range names {
				if name == t.Name {
					continue
				}
				if err := srv.DropTemplate(gctx, name); err != nil {
					errs[i] = fmt.Errorf("drop superseded template %s on server %s: %w", name, info.Name, err)
					return nil
				}
				fpTemplateDrop.Hit()
				out.Dropped = append(out.Dropped, name)
				o.Log.Info("superseded template dropped", "server", info.Name, "template", name)
			}
			// Recorded last: until then the catalog does not match the set, so a run
			// interrupted above visits this server again and drops what it left.
			if record && (t.Built || info.TemplateDB != t.Name || info.TemplateHash != t.Hash || info.TemplateVersion == nil || *info.TemplateVersion != t.Version) {
				if err := o.Store.SetTemplate(gctx, info.Name, t.Name, t.Hash, t.Version); err != nil {
					errs[i] = fmt.Errorf("record the template of server %s: %w", info.Name, err)
					return nil
				}
			}
			fpTemplateSet.Hit()
			return nil
		})
	}
	_ = g.Wait() // errors are per server, in errs
	for i, err := range errs {
		if err != nil {
			outs[i].Error = err.Error()
		}
	}
	return outs, errors.Join(errs...)
}
