// Package secret is `tenantctl secret`: the key that seals credentials in the catalog.
package secret

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/internal/validate"
	secretlib "github.com/tenantctl/tenantctl/secret"
)

// NewCmdSecret is `tenantctl secret`.
func NewCmdSecret(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Manage the key that seals credentials in the catalog",
	}
	cmd.AddCommand(NewCmdRotateKey(f, nil), NewCmdResetKey(f, nil), NewCmdKeyID(f, nil))
	return cmd
}

// RotateKeyOptions are `secret rotate-key`'s.
type RotateKeyOptions struct {
	Factory    *cmdutil.Factory
	NewKeyFile string
}

// NewCmdRotateKey is `secret rotate-key`; runF, when not nil, replaces the run.
func NewCmdRotateKey(f *cmdutil.Factory, runF func(context.Context, *RotateKeyOptions) error) *cobra.Command {
	opts := &RotateKeyOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "rotate-key --new-key-file FILE",
		Short: "Re-seal every credential in the catalog with a new key, in one transaction",
		Long: `Re-seal every sealed value in the catalog (server and warehouse DSNs, tenant and
access passwords, the key check) from the configured key to the key in --new-key-file,
in one catalog transaction. Killed at any instant, the catalog is left wholly under one
key; run the same command again to finish (it says so when the rotation had already
committed).

Afterwards point secret_key_file (or TENANTCTL_SECRET_KEY[_FILE]) at the new key and
restart every long-running tenantctl process (scheduler, serve): the catalog refuses the
old key from the moment the rotation commits. Keep the old key as long as you keep
catalog backups taken before the rotation: they need it.`,
		Example: `  head -c 32 /dev/urandom | base64 > new.key && chmod 600 new.key
  tenantctl secret rotate-key --new-key-file new.key
  mv new.key /etc/tenantctl/secret.key   # where secret_key_file points; keep the old one with old backups`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runRotateKey, func(cmd *cobra.Command, _ []string) error {
			if opts.NewKeyFile == "" {
				return validate.Errorf("--new-key-file is required")
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&opts.NewKeyFile, "new-key-file", "", "file holding the new base64 32-byte key (generate: head -c 32 /dev/urandom | base64)")
	return cmd
}

func runRotateKey(ctx context.Context, opts *RotateKeyOptions) error {
	f := opts.Factory
	to, err := secretlib.LoadKey(opts.NewKeyFile, "")
	if err != nil {
		return validate.Invalid(err)
	}
	from, err := f.Box()
	if err != nil {
		return err
	}
	if from == nil {
		return secretlib.ErrNoKey
	}
	// Opened without a key: after a rotation that committed, the configured key
	// is no longer the catalog's, and a rerun must still be able to say so.
	store, err := f.OpenStore(ctx, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	res, err := store.RotateKey(ctx, from, to, catalog.RotateKeyHooks{})
	if errors.Is(err, catalog.ErrSameKey) {
		return validate.Invalid(err)
	}
	if err != nil {
		return err
	}
	if f.Structured() {
		return f.PrintStructured(res)
	}
	if res.AlreadyRotated {
		fmt.Fprintf(f.IO.Out, "the catalog already uses the new key (id %s); nothing to do\n", res.ToKeyID)
	} else {
		tables := make([]string, 0, len(res.Resealed))
		total := 0
		for k, n := range res.Resealed {
			tables = append(tables, fmt.Sprintf("%s %d", k, n))
			total += n
		}
		sort.Strings(tables)
		fmt.Fprintf(f.IO.Out, "re-sealed %d value(s) from key %s to key %s (%s)\n", total, res.FromKeyID, res.ToKeyID, strings.Join(tables, ", "))
	}
	fmt.Fprintf(f.IO.Out, "next: make %s the configured key (secret_key_file, TENANTCTL_SECRET_KEY_FILE or the Kubernetes Secret) and restart every scheduler and console\n", opts.NewKeyFile)
	return nil
}

// ResetKeyOptions are `secret reset-key`'s.
type ResetKeyOptions struct {
	Factory    *cmdutil.Factory
	NewKeyFile string
	// OldKeyLost confirms that every sealed password may be erased.
	OldKeyLost bool
	// ServerDSNFiles are NAME=FILE pairs; WarehouseDSNFile the warehouse's DSN file.
	ServerDSNFiles   []string
	WarehouseDSNFile string
}

// NewCmdResetKey is `secret reset-key`; runF, when not nil, replaces the run.
func NewCmdResetKey(f *cmdutil.Factory, runF func(context.Context, *ResetKeyOptions) error) *cobra.Command {
	opts := &ResetKeyOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "reset-key --new-key-file FILE --old-key-lost --server-dsn-file NAME=FILE... [--warehouse-dsn-file FILE]",
		Short: "Adopt a new key after the old one was lost: re-enter server and warehouse DSNs, erase passwords",
		Long: `Recover from a lost key. Nothing sealed under it can be opened again, so in one catalog
transaction this command makes the new key the catalog's, re-seals every server's admin
DSN and the warehouse DSN given again in files, and erases the tenant and MSP access
passwords (they are reissued: 'tenant rotate-credentials SLUG' for each tenant listed,
'access grant' again for staff). Tenants, servers, history and all customer data are
untouched. It refuses when the configured key still opens the catalog (use rotate-key).`,
		Example: `  head -c 32 /dev/urandom | base64 > new.key && chmod 600 new.key
  tenantctl secret reset-key --new-key-file new.key --old-key-lost \
    --server-dsn-file pg-a=pg-a.dsn --server-dsn-file pg-b=pg-b.dsn --warehouse-dsn-file warehouse.dsn`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runResetKey, func(cmd *cobra.Command, _ []string) error {
			if !opts.OldKeyLost {
				return validate.Errorf("reset-key erases every tenant and access password: pass --old-key-lost to confirm the old key is gone (otherwise use rotate-key)")
			}
			if opts.NewKeyFile == "" {
				return validate.Errorf("--new-key-file is required")
			}
			return nil
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.NewKeyFile, "new-key-file", "", "file holding the new base64 32-byte key")
	fl.BoolVar(&opts.OldKeyLost, "old-key-lost", false, "confirm that the old key is lost and every sealed password may be erased")
	fl.StringArrayVar(&opts.ServerDSNFiles, "server-dsn-file", nil, "NAME=FILE: the admin DSN of a registered server, in a file (every server needs one)")
	fl.StringVar(&opts.WarehouseDSNFile, "warehouse-dsn-file", "", "file holding the warehouse DSN (needed when a warehouse is registered)")
	return cmd
}

func runResetKey(ctx context.Context, opts *ResetKeyOptions) error {
	f := opts.Factory
	to, err := secretlib.LoadKey(opts.NewKeyFile, "")
	if err != nil {
		return validate.Invalid(err)
	}
	o := catalog.ResetKeyOptions{ServerDSNs: map[string]string{}}
	for _, kv := range opts.ServerDSNFiles {
		name, file, ok := strings.Cut(kv, "=")
		if !ok || name == "" || file == "" {
			return validate.Errorf("invalid --server-dsn-file %q: use NAME=FILE", kv)
		}
		if o.ServerDSNs[name], err = f.ReadDSN("", file); err != nil {
			return err
		}
		secretlib.RegisterDSN(o.ServerDSNs[name])
	}
	if opts.WarehouseDSNFile != "" {
		if o.WarehouseDSN, err = f.ReadDSN("", opts.WarehouseDSNFile); err != nil {
			return err
		}
		secretlib.RegisterDSN(o.WarehouseDSN)
	}
	store, err := f.OpenStore(ctx, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	res, err := store.ResetKey(ctx, to, o)
	if errors.Is(err, catalog.ErrKeyStillValid) || errors.Is(err, catalog.ErrMissingSecrets) || errors.Is(err, catalog.ErrServerNotFound) {
		return validate.Invalid(err)
	}
	if err != nil {
		return err
	}
	if f.Structured() {
		return f.PrintStructured(res)
	}
	fmt.Fprintf(f.IO.Out, "the catalog now uses key %s: %d server DSN(s) re-sealed, warehouse %v; %d tenant password(s) and %d access grant(s) erased\n",
		res.KeyID, res.Servers, res.Warehouse, res.CredentialsErased, res.GrantsErased)
	if len(res.TenantsNeedingCredentials) > 0 {
		fmt.Fprintf(f.IO.Out, "next: configure %s as the key, then reissue each tenant's password and hand its application the new DSN:\n", opts.NewKeyFile)
		for _, slug := range res.TenantsNeedingCredentials {
			fmt.Fprintf(f.IO.Out, "  tenantctl tenant rotate-credentials %s\n", slug)
		}
	}
	return nil
}

// KeyIDOptions are `secret key-id`'s.
type KeyIDOptions struct {
	Factory *cmdutil.Factory
	// KeyFile is a key file to identify instead of the configured key.
	KeyFile string
}

// NewCmdKeyID is `secret key-id`; runF, when not nil, replaces the run.
func NewCmdKeyID(f *cmdutil.Factory, runF func(context.Context, *KeyIDOptions) error) *cobra.Command {
	opts := &KeyIDOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "key-id",
		Short: "Print the id of the configured key (or --key-file) and of the catalog's key",
		Long: `Print the id of a key — 16 hex digits derived from the key, safe to show — so you can
tell which key file a catalog (or a backup of it) needs. With a catalog configured, also
print the id of the key the catalog uses.`,
		Example: "  tenantctl secret key-id\n  tenantctl secret key-id --key-file /backup/2026-01/secret.key",
		Args:    cmdutil.NoArgs,
		RunE:    cmdutil.RunE(opts, runF, runKeyID, nil),
	}
	cmd.Flags().StringVar(&opts.KeyFile, "key-file", "", "key file to identify instead of the configured key")
	return cmd
}

func runKeyID(ctx context.Context, opts *KeyIDOptions) error {
	f := opts.Factory
	var box *secretlib.Box
	var err error
	if opts.KeyFile != "" {
		if box, err = secretlib.LoadKey(opts.KeyFile, ""); err != nil {
			return validate.Invalid(err)
		}
	} else if box, err = f.Box(); err != nil {
		return err
	}
	out := map[string]string{}
	if box != nil {
		out["key_id"] = box.KeyID()
	}
	if f.CatalogDSN() != "" {
		store, err := catalog.Open(ctx, f.CatalogDSN(), nil)
		if err != nil {
			return err
		}
		defer store.Close()
		if out["catalog_key_id"], err = store.KeyID(ctx); err != nil {
			return err
		}
	}
	if box == nil && out["catalog_key_id"] == "" {
		return secretlib.ErrNoKey
	}
	if f.Structured() {
		return f.PrintStructured(out)
	}
	if id, ok := out["key_id"]; ok {
		fmt.Fprintf(f.IO.Out, "key:     %s\n", id)
	}
	if id, ok := out["catalog_key_id"]; ok {
		if id == "" {
			id = "(not recorded: the catalog predates key ids or no key was used with it yet)"
		}
		fmt.Fprintf(f.IO.Out, "catalog: %s\n", id)
	}
	return nil
}
