package provisioner

import (
	"context"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// Place picks the server for a new tenant: the named one (refused when it is draining
// or full), else the non-draining server with the most free capacity whose labels
// include every requested label (ties go to the first by name).
func (p *Provisioner) Place(ctx context.Context, name string, labels map[string]string) (catalog.Server, error) {
	if name != "" {
		srv, err := p.Store.GetServer(ctx, name)
		return place(name, labels, []catalog.Server{srv}, err)
	}
	servers, err := p.Store.ListServers(ctx)
	return place(name, labels, servers, err)
}

// place is [Provisioner.Place] among servers, as read for name (the one server named,
// or every server when name is ""); err is the read's.
func place(name string, labels map[string]string, servers []catalog.Server, err error) (catalog.Server, error) {
	if name != "" {
		if err != nil {
			return catalog.Server{}, err
		}
		srv := servers[0]
		if srv.Draining {
			return srv, &DrainingError{Server: name}
		}
		if srv.Free() <= 0 {
			return srv, validate.Errorf("server %q is full (%d of %d tenants)", name, srv.Tenants, srv.Capacity)
		}
		return srv, nil
	}
	if err != nil {
		return catalog.Server{}, err
	}
	var best *catalog.Server
	var draining, full, mismatched int
	for i := range servers {
		s := &servers[i]
		switch {
		case s.Draining:
			draining++
		case s.Free() <= 0:
			full++
		case !matches(s.Labels, labels):
			mismatched++
		case best == nil || s.Free() > best.Free():
			best = s
		}
	}
	if best == nil {
		return catalog.Server{}, &NoServerFitsError{Servers: len(servers), Draining: draining, Full: full, Mismatched: mismatched,
			Labels: validate.FormatLabels(labels)}
	}
	return *best, nil
}

func matches(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// Server returns a tenantdb handle on a registered server. Handles are cached for the
// provisioner's lifetime (in the same [fleet.Servers] cache every fleet operation uses)
// so their admin connections are shared; [Provisioner.Close] closes them.
func (p *Provisioner) Server(ctx context.Context, name string) (*tenantdb.Server, error) {
	return p.fleet().Get(ctx, name)
}

// fleet returns the provisioner's server-handle cache.
func (p *Provisioner) fleet() *fleet.Servers {
	srvs, _ := p.caches()
	return srvs
}
