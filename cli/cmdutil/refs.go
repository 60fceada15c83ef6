package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
)

// This file gives the whole command tree, in one place, what users of kubectl and gh
// expect of names: completion of tenant slugs, server names and access logins (as
// positional arguments and as --tenant/--server/--login values), completion and checking
// of enumerated flag values, and a refusal (exit 2) of a --tenant or --server that names
// nothing, instead of an empty table.

var tenantStates = []string{catalog.StateProvisioning, catalog.StateActive, catalog.StateSuspended,
	catalog.StateDeleting, catalog.StateFailed, catalog.StatePurged}

// enumFlags lists the flags with a fixed set of values, by command path and flag name
// ("*" for every command).
var enumFlags = map[string]map[string][]string{
	"tenantctl tenant list":  {"state": tenantStates},
	"tenantctl access grant": {"level": {"read", "write"}},
	"tenantctl server add":   {"clone-strategy": {"file_copy", "wal_log"}},
	"*":                      {"log-level": {"trace", "debug", "info", "warn", "error"}, "log-format": {"text", "json"}},
}

// argStates narrows the slugs offered for a command's SLUG argument to the tenants it can
// act on.
var argStates = map[string][]string{
	"tenantctl tenant suspend": {catalog.StateActive},
	"tenantctl tenant resume":  {catalog.StateSuspended},
	"tenantctl tenant purge":   {catalog.StateDeleting},
}

// completionTimeout bounds the catalog query behind a completion: a shell waits for it.
const completionTimeout = 3 * time.Second

// WireNames installs completions on every command of the tree. Called by finishTree.
func (f *Factory) WireNames(c *cobra.Command) {
	path := c.CommandPath()
	if c.ValidArgsFunction == nil {
		words := strings.Fields(c.Use)
		if len(words) > 1 {
			switch {
			case words[1] == "SLUG" && c.Name() != "create":
				states := argStates[path]
				c.ValidArgsFunction = f.completeFirst(func(ctx context.Context) ([]string, error) { return f.slugs(ctx, states) })
			case words[1] == "NAME" && c.Parent() != nil && c.Parent().Name() == "server" && c.Name() != "add":
				c.ValidArgsFunction = f.completeFirst(f.serverNames)
			case words[1] == "LOGIN" && c.Parent() != nil && c.Parent().Name() == "access":
				c.ValidArgsFunction = f.completeFirst(f.logins)
			case words[1] == "LOGIN" && c.Parent() != nil && c.Parent().Name() == "operator" && c.Name() != "add":
				c.ValidArgsFunction = f.completeFirst(f.operatorLogins)
			}
		}
	}
	flagComp := map[string]func(context.Context) ([]string, error){
		"tenant": func(ctx context.Context) ([]string, error) { return f.slugs(ctx, nil) },
		"server": f.serverNames,
		"login":  f.logins,
	}
	local := c.LocalFlags() // cobra builds the set again at each call
	for name, fn := range flagComp {
		if local.Lookup(name) != nil {
			_ = c.RegisterFlagCompletionFunc(name, f.completeAny(fn))
		}
	}
	for _, key := range []string{path, "*"} {
		for flag, values := range enumFlags[key] {
			if c.Flags().Lookup(flag) != nil && (key != "*" || !c.HasParent()) {
				_ = c.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
			}
		}
	}
	if !c.HasParent() {
		_ = c.RegisterFlagCompletionFunc("output", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
			return outputChoices(cmd), cobra.ShellCompDirectiveNoFileComp
		})
		_ = c.RegisterFlagCompletionFunc("context", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return f.RawFile.ContextNames(), cobra.ShellCompDirectiveNoFileComp
		})
	}
}

// completeFirst completes the first positional argument only.
func (f *Factory) completeFirst(fn func(context.Context) ([]string, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return f.completeAny(fn)(cmd, args, toComplete)
	}
}

func (f *Factory) completeAny(fn func(context.Context) ([]string, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		// Completion runs without the root's PersistentPreRunE: load the settings here.
		if f.Log == nil {
			if err := f.Setup(cmd, nil); err != nil {
				return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
			}
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
		defer cancel()
		names, err := fn(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// names lists, from the catalog, what a completion offers: list reads the rows and name
// gives each one's name ("" leaves it out).
func names[T any](ctx context.Context, f *Factory, list func(*catalog.Store) ([]T, error), name func(T) string) ([]string, error) {
	var out []string
	err := f.WithStore(ctx, func(store *catalog.Store) error {
		rows, err := list(store)
		if err != nil {
			return err
		}
		out = make([]string, 0, len(rows))
		for _, r := range rows {
			if n := name(r); n != "" {
				out = append(out, n)
			}
		}
		return nil
	})
	return out, err
}

func (f *Factory) slugs(ctx context.Context, states []string) ([]string, error) {
	return names(ctx, f, func(store *catalog.Store) ([]catalog.Tenant, error) {
		return store.ListTenants(ctx, catalog.TenantFilter{States: states})
	}, func(t catalog.Tenant) string { return t.Slug })
}

func (f *Factory) serverNames(ctx context.Context) ([]string, error) {
	return names(ctx, f, func(store *catalog.Store) ([]catalog.Server, error) { return store.ListServers(ctx) },
		func(s catalog.Server) string { return s.Name })
}

func (f *Factory) logins(ctx context.Context) ([]string, error) {
	out, err := names(ctx, f, func(store *catalog.Store) ([]catalog.AccessGrant, error) { return store.ListAccessGrants(ctx, "", "") },
		func(g catalog.AccessGrant) string { return g.Login })
	slices.Sort(out)
	return slices.Compact(out), err // a login holds a grant per tenant
}

func (f *Factory) operatorLogins(ctx context.Context) ([]string, error) {
	return names(ctx, f, func(store *catalog.Store) ([]catalog.Operator, error) { return store.ListOperators(ctx) },
		func(o catalog.Operator) string {
			if !o.Active() {
				return ""
			}
			return o.Login
		})
}

// CheckNames runs before every command: enumerated flags must hold one of their values,
// and a --tenant or --server given to a command must name a tenant (live or purged: the
// event log keeps purged tenants' history) or server the catalog knows. Both are bad
// input (exit 2), reported before anything runs.
func (f *Factory) CheckNames(cmd *cobra.Command) error {
	for _, key := range []string{cmd.CommandPath(), "*"} {
		for flag, values := range enumFlags[key] {
			fl := cmd.Flags().Lookup(flag)
			if fl == nil || !fl.Changed || key == "*" {
				continue
			}
			if err := enumFlag(flag, fl.Value.String(), false, values...); err != nil {
				return err
			}
		}
	}
	tenant, server := changedFlag(cmd, "tenant"), changedFlag(cmd, "server")
	if tenant == "" && server == "" || cmd.Annotations[AnnotNewName] != "" || f.CatalogDSN() == "" {
		return nil
	}
	if tenant != "" {
		if err := validate.Slug(tenant); err != nil {
			return err
		}
	}
	ctx := cmd.Context()
	store, err := f.Store(ctx)
	if err != nil {
		return nil // the command itself reports what is wrong with the catalog or key
	}
	if tenant != "" {
		ts, err := store.ListTenants(ctx, catalog.TenantFilter{Slug: tenant, States: tenantStates})
		if err == nil && len(ts) == 0 && cmd.Name() == "events" {
			// The event log also records what was refused before any tenant existed
			// (a failed import): a slug it names is known to `events`.
			if evs, err := store.ListEvents(ctx, tenant, 1); err == nil && len(evs) > 0 {
				ts = append(ts, catalog.Tenant{Slug: tenant})
			}
		}
		if err == nil && len(ts) == 0 {
			return validate.Invalid(fmt.Errorf("--tenant: tenant %q: %w", tenant, catalog.ErrTenantNotFound))
		}
	}
	if server != "" {
		if _, err := store.GetServer(ctx, server); errors.Is(err, catalog.ErrServerNotFound) {
			return validate.Invalid(fmt.Errorf("--server: server %q: %w", server, catalog.ErrServerNotFound))
		}
	}
	return nil
}

// AnnotNewName marks commands whose --tenant/--server may name something that does not
// exist yet.
const AnnotNewName = "new-name"

func changedFlag(cmd *cobra.Command, name string) string {
	f := cmd.Flags().Lookup(name)
	if f == nil || !f.Changed {
		return ""
	}
	return f.Value.String()
}
