package provisioner

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// DefaultAccessTTL is how long an access grant lasts unless --expires says otherwise:
// MSP access to a customer's data is break-glass, not standing.
const DefaultAccessTTL = 24 * time.Hour

var loginRE = regexp.MustCompile(`^[a-z][a-z0-9._-]{0,30}$`)

// GrantOptions describe an MSP login's access to one tenant.
type GrantOptions struct {
	Login  string
	Slug   string
	Level  string // read (default) or write
	Reason string
	// Expires is a duration ("8h"), an RFC 3339 time, or "never"; empty means
	// DefaultAccessTTL.
	Expires string
}

// Validate checks the options and returns the expiry (nil: never).
func (o *GrantOptions) Validate(now time.Time) (*time.Time, error) {
	if !loginRE.MatchString(o.Login) {
		return nil, validate.Errorf("invalid login %q: use 1-31 characters a-z, 0-9, '.', '_' and '-', starting with a letter", o.Login)
	}
	if err := validate.Slug(o.Slug); err != nil {
		return nil, err
	}
	switch o.Level {
	case "":
		o.Level = "read"
	case "read", "write":
	default:
		return nil, validate.Field("level", fmt.Sprintf("%q", o.Level), "use read or write")
	}
	if err := validate.FreeText("reason", o.Reason, 500); err != nil {
		return nil, err
	}
	switch o.Expires {
	case "never":
		return nil, nil
	case "":
		t := now.Add(DefaultAccessTTL)
		return &t, nil
	}
	if d, err := time.ParseDuration(o.Expires); err == nil {
		if d <= 0 {
			return nil, validate.Field("expires", fmt.Sprintf("%q", o.Expires), "the duration must be positive")
		}
		t := now.Add(d)
		return &t, nil
	}
	t, err := time.Parse(time.RFC3339, o.Expires)
	if err != nil {
		return nil, validate.Field("expires", fmt.Sprintf("%q", o.Expires), "use a duration (8h), an RFC 3339 time or never")
	}
	if !t.After(now) {
		return nil, validate.Field("expires", fmt.Sprintf("%q", o.Expires), "it is in the past")
	}
	return &t, nil
}

// GrantAccess gives an MSP login its own role on one tenant's database, with read or
// write access, expiring at the server (VALID UNTIL) as well as in the catalog.
func (p *Provisioner) GrantAccess(ctx context.Context, o GrantOptions) (catalog.AccessGrant, error) {
	expires, err := o.Validate(time.Now())
	if err != nil {
		return catalog.AccessGrant{}, err
	}
	var g catalog.AccessGrant
	err = p.withTenant(ctx, o.Slug, []string{catalog.StateActive, catalog.StateSuspended}, func(t catalog.Tenant) error {
		srv, err := p.Server(ctx, t.Server)
		if err != nil {
			return err
		}
		g = catalog.AccessGrant{TenantID: t.ID, Slug: t.Slug, Login: o.Login, Role: tenantdb.AccessRole(o.Login, t.ID),
			Level: o.Level, Reason: o.Reason, ExpiresAt: expires}
		// Logins differing only in '.', '-' and '_' map to one role name.
		existing, err := p.Store.ListAccessGrants(ctx, t.Slug, "")
		if err != nil {
			return err
		}
		for _, e := range existing {
			if e.Login != o.Login && e.Role == g.Role {
				return validate.Errorf("login %q would share the role %s with login %q on tenant %s: logins that differ only in '.', '-' and '_' cannot both have access; use another login",
					o.Login, g.Role, e.Login, t.Slug)
			}
		}
		pw := secret.NewPassword()
		// Record first: a crash after the server changed leaves a grant that revoke or
		// reconcile can still find and remove.
		if err := p.Store.PutAccessGrant(ctx, g, pw); err != nil {
			return err
		}
		fpGrantRecorded.Hit()
		if err := srv.GrantAccess(ctx, t.ID, g.Role, g.Level, pw, expires); err != nil {
			return err
		}
		fpGrantServer.Hit()
		return nil
	})
	return g, err
}

// RevokeAccess drops a login's access role on a tenant and forgets the grant. A role
// left on the server by an interrupted revoke (the catalog already forgot the grant) is
// dropped too.
func (p *Provisioner) RevokeAccess(ctx context.Context, login, slug string) error {
	if !loginRE.MatchString(login) {
		return validate.Errorf("invalid login %q: use 1-31 characters a-z, 0-9, '.', '_' and '-', starting with a letter", login)
	}
	// Under the tenant's lock, like a grant: reconcile finishing an interrupted grant
	// must not recreate a role this revoke is dropping.
	t, unlock, err := p.lockTenantBySlug(ctx, slug)
	if err != nil {
		return err
	}
	defer unlock()
	grants, err := p.Store.ListAccessGrants(ctx, slug, login)
	if err != nil {
		return err
	}
	if len(grants) == 0 && t.Server != "" {
		srv, err := p.Server(ctx, t.Server)
		if err != nil {
			return err
		}
		role := tenantdb.AccessRole(login, t.ID)
		snap, err := srv.Snapshot(ctx)
		if err != nil {
			return err
		}
		if _, exists := tenantdb.AccessRoleReady(snap, role); exists {
			return srv.RevokeAccessRole(ctx, t.ID, role)
		}
	}
	if len(grants) == 0 {
		return validate.Invalid(fmt.Errorf("login %q on tenant %q: %w", login, slug, catalog.ErrNoGrant))
	}
	return p.revokeGrants(ctx, t, grants)
}

func (p *Provisioner) revokeGrants(ctx context.Context, t catalog.Tenant, grants []catalog.AccessGrant) error {
	if len(grants) == 0 || t.Server == "" {
		return nil
	}
	srv, err := p.Server(ctx, t.Server)
	if err != nil {
		return err
	}
	// The catalog forgets the grant first: a revoke interrupted after that leaves a role
	// the catalog does not know, which reconcile drops (and a rerun drops too), instead
	// of a recorded grant that reconcile would have to tell from an unfinished one.
	var errs []error
	for _, g := range grants {
		if err := p.Store.DeleteAccessGrant(ctx, g); err != nil {
			errs = append(errs, err)
			continue
		}
		fpRevokeRecord.Hit()
		errs = append(errs, srv.RevokeAccessRole(ctx, t.ID, g.Role))
	}
	return errors.Join(errs...)
}

// AccessDSN returns the connection string of a login's access to a tenant.
func (p *Provisioner) AccessDSN(ctx context.Context, login, slug string) (string, error) {
	t, err := p.Store.GetTenant(ctx, slug)
	if err != nil {
		return "", err
	}
	pw, err := p.Store.AccessPassword(ctx, t.ID, login)
	if errors.Is(err, catalog.ErrNoGrant) {
		return "", validate.Invalid(fmt.Errorf("login %q on tenant %q: %w", login, slug, err))
	}
	if err != nil {
		return "", err
	}
	srv, err := p.Server(ctx, t.Server)
	if err != nil {
		return "", err
	}
	return srv.DSNFor(tenantdb.AccessRole(login, t.ID), pw, tenantdb.Database(t.ID)), nil
}

// expiredGrants returns grants past their expiry.
func expiredGrants(grants []catalog.AccessGrant, now time.Time) []catalog.AccessGrant {
	var out []catalog.AccessGrant
	for _, g := range grants {
		if g.ExpiresAt != nil && now.After(*g.ExpiresAt) {
			out = append(out, g)
		}
	}
	return out
}
