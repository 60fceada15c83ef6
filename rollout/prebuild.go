package rollout

import (
	"context"

	"github.com/tenantctl/tenantctl/fleet"
)

// templateWork is the template rebuild of a run, started in the background as soon as
// the set is known to migrate (the canary wave passed, or there is none), so building
// the new template and dropping superseded ones overlap the rest of the fleet instead of
// following it while the operator waits. Only recording the template in the catalog
// waits for the whole fleet to be current (a cheap last pass). Creators are unaffected: each clones the
// template of its own migration set by hash, building it when missing, and retries a
// clone whose template was dropped under it.
type templateWork struct {
	done chan struct{}
	outs []TemplateOutcome
	err  error
}

func startTemplates(ctx context.Context, o *Options, srvs *fleet.Servers, set Set) *templateWork {
	w := &templateWork{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.outs, w.err = templatesFor(ctx, o, srvs, set, false)
	}()
	return w
}

// wait waits for the background rebuild (nil w: none was started).
func (w *templateWork) wait() {
	if w != nil {
		<-w.done
	}
}

// merge folds what the background rebuild did (built, dropped) into the outcomes of
// the final, recording pass.
func (w *templateWork) merge(outs []TemplateOutcome) []TemplateOutcome {
	if w == nil {
		return outs
	}
	for i := range outs {
		for _, bg := range w.outs {
			if bg.Server == outs[i].Server && bg.Template == outs[i].Template {
				outs[i].Built = outs[i].Built || bg.Built
				outs[i].Dropped = append(bg.Dropped, outs[i].Dropped...)
			}
		}
	}
	return outs
}
