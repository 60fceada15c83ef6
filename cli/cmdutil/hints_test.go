package cmdutil

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/localpg"
	"github.com/tenantctl/tenantctl/mover"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/rollout"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/serve"
)

// The libraries word their errors by option and never name a command; the terminal gets
// the command that fixes each, added here by type, in the words the CLI always used.
func TestDescribeErrorNamesTheCommandThatFixes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err       error
		lib, want string
	}{
		{fmt.Errorf("open catalog: %w", catalog.ErrNotInitialized),
			"open catalog: the catalog database has no tenantctl schema",
			"open catalog: the catalog database has no tenantctl schema: run `tenantctl catalog init` first"},
		{secret.ErrNoKey, "no secret key: the 32-byte key that encrypts credentials in the catalog is needed",
			"no secret key: set TENANTCTL_SECRET_KEY (base64) or --secret-key-file (TENANTCTL_SECRET_KEY_FILE) to the 32-byte key that encrypts credentials in the catalog"},
		{serve.ErrHalfTLS, "give both the TLS certificate and its key, or neither", "give both --tls-cert and --tls-key, or neither"},
		{validate.Field("spares", -1, "it must be 0 or more"), "invalid spares -1: it must be 0 or more", "invalid --spares -1: it must be 0 or more"},
		{&provisioner.DrainingError{Server: "pg-a"}, `server "pg-a" is draining and takes no new tenants`,
			`server "pg-a" is draining and takes no new tenants (tenantctl server undrain pg-a)`},
		{&provisioner.NoServerFitsError{Servers: 2, Draining: 1, Full: 1, Labels: "{}"},
			"no server can take the tenant: 2 servers registered, 1 draining, 1 full, 0 without labels {}",
			"no server can take the tenant: 2 servers registered, 1 draining, 1 full, 0 without labels {}; add one with `tenantctl server add`"},
		{&provisioner.UnfinishedError{Err: fmt.Errorf("provision tenant %q: boom", "acme"), Rerun: true},
			`provision tenant "acme": boom`, "provision tenant \"acme\": boom (rerun the same create, or `tenantctl reconcile`, to retry)"},
		{fmt.Errorf("batch: %w", &provisioner.UnfinishedError{Err: fmt.Errorf("move tenant %q: a; rolling back also failed: b", "acme")}),
			`batch: move tenant "acme": a; rolling back also failed: b`, "batch: move tenant \"acme\": a; rolling back also failed: b (run `tenantctl reconcile`)"},
		{&mover.GrantsHeldError{Slug: "acme", Grants: 2},
			`tenant "acme" has 2 MSP access grants, whose roles live on its current server: revoke them first`,
			`tenant "acme" has 2 MSP access grants, whose roles live on its current server: revoke them first (tenantctl access revoke LOGIN --tenant acme)`},
		{&localpg.UnreachableError{Dir: "/root/x", Blocker: "/root"},
			"the postgres OS user cannot reach /root/x: /root is not searchable by other users; choose a directory elsewhere (e.g. /var/tmp/tenantctl) or run chmod o+x /root",
			"the postgres OS user cannot reach /root/x: /root is not searchable by other users; choose a directory elsewhere (e.g. --dir /var/tmp/tenantctl) or run chmod o+x /root"},
		{&localpg.SharedRootError{Root: "/var/tmp/t"},
			"/var/tmp/t is not a directory owned by you and writable only by you: remove it, or choose another directory",
			"/var/tmp/t is not a directory owned by you and writable only by you: remove it, or choose --dir"},
	} {
		require.Equal(t, c.lib, c.err.Error())
		require.Equal(t, c.want, DescribeError(c.err))
	}
	for _, err := range []error{&provisioner.DrainingError{}, &provisioner.NoServerFitsError{}, &mover.GrantsHeldError{}, serve.ErrHalfTLS} {
		require.ErrorIs(t, err, validate.ErrInvalid, "%T is bad input: exit 2", err)
	}
	require.ErrorIs(t, &provisioner.NoServerFitsError{}, provisioner.ErrNoServerFits)
}

// The hints for the terminal are added by type, and keep the wrapping context.
func TestDescribeErrorAddsFlagHintsByType(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want string
	}{
		{validate.Field("per-server", -1, "it must be at least 1"), "invalid --per-server -1: it must be at least 1"},
		{&validate.MissingError{Field: "dsn", What: "the warehouse database's connection string"}, "--dsn is required: the warehouse database's connection string"},
		{fmt.Errorf("tenant \"acme\" is at version 2: %w", &validate.FieldError{Field: "to", Reason: "must name a lower version"}),
			"tenant \"acme\" is at version 2: --to must name a lower version"},
		{provisioner.Confirm("delete", "acme", "other"), "refusing to delete \"acme\": pass --confirm acme to confirm"},
		{fmt.Errorf("rollup: %w", catalog.ErrNoWarehouse), "rollup: no warehouse registered: run `tenantctl warehouse init --dsn DSN`"},
		{rollout.ErrFleetDown, "migrate down works on one tenant at a time: name it with --tenant SLUG (rolling back the whole fleet is refused)"},
		{errors.New("unrelated"), "unrelated"},
	} {
		require.Equal(t, c.want, DescribeError(c.err))
	}
}
