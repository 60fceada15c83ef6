package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
)

// serverSetFlags are the flags of 'server set' that change the server's registration:
// its admin DSN, capacity and labels (--spares lives with the warm pool, pool_cmd.go).
type serverSetFlags struct {
	dsnFile  string
	dsnStdin bool
	capacity int
	labels   []string
}

const serverSetHelp = `
--dsn-file FILE or --dsn-stdin changes the server's admin DSN (a rotated password, a new
host name after a failover): the new DSN must log in as the same admin role, with
CREATEDB and CREATEROLE (or superuser), and reach the same server — the same system
identifier (pg_control_system()) as through the old DSN, or, when the old one no longer
connects, a server holding every tenant database the catalog places there. Another
server is refused (exit 2) and nothing changes. The old DSN is forgotten: the catalog
keeps only the new one, sealed. The DSN is never taken on the command line.

--capacity N changes how many tenants the server may hold (not below what it holds).

--label k=v adds or changes a label, --label k- removes one (repeatable). A change that
would leave a tenant placed there without a label it requires is refused.`

const serverSetExamples = `
  tenantctl server set pg-a --dsn-file /etc/tenantctl/pg-a.dsn        # after rotating the admin password
  printf '%s' "$NEW_DSN" | tenantctl server set pg-a --dsn-stdin       # after a failover to a new host
  tenantctl server set pg-a --capacity 2000 --label zone=eu2 --label ssd-`

func (f *serverSetFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.dsnFile, "dsn-file", "", "change the admin DSN to the one in this file (checked to reach the same server)")
	fl.BoolVar(&f.dsnStdin, "dsn-stdin", false, "change the admin DSN to the one read from stdin")
	fl.IntVar(&f.capacity, "capacity", 0, "change how many tenants the server may hold")
	fl.StringArrayVar(&f.labels, "label", nil, "add or change a label k=v, or remove one with k- (repeatable)")
	cmd.Long += serverSetHelp
	cmd.Example += serverSetExamples
	cmd.Use = strings.Replace(cmd.Use, "NAME", "NAME [--dsn-file F | --dsn-stdin] [--capacity N] [--label k=v|k-]...", 1)
}

// changed reports whether any of these flags was given.
func (f *serverSetFlags) changed(cmd *cobra.Command) bool {
	for _, n := range []string{"dsn-file", "dsn-stdin", "capacity", "label"} {
		if cmd.Flags().Changed(n) {
			return true
		}
	}
	return false
}

// readDSNSource reads a DSN from --dsn-file or --dsn-stdin ("" when neither is given).
func readDSNSource(in io.Reader, file string, stdin bool) (string, error) {
	if file != "" && stdin {
		return "", validate.Errorf("give --dsn-file or --dsn-stdin, not both")
	}
	var raw []byte
	var err error
	switch {
	case file != "":
		raw, err = os.ReadFile(file)
	case stdin:
		raw, err = io.ReadAll(io.LimitReader(in, 64<<10))
	default:
		return "", nil
	}
	if err != nil {
		return "", validate.Errorf("read DSN: %v", err)
	}
	dsn := strings.TrimSpace(string(raw))
	if dsn == "" {
		return "", validate.Errorf("the DSN read is empty")
	}
	return dsn, nil
}

// apply makes the changes the flags ask for on server name, checking all of them first.
func (f *serverSetFlags) apply(cmd *cobra.Command, a *app, name string) error {
	if err := validate.ServerName(name); err != nil {
		return err
	}
	dsn, err := readDSNSource(a.in, f.dsnFile, f.dsnStdin)
	if err != nil {
		return err
	}
	if cmd.Flags().Changed("capacity") && f.capacity < 1 {
		return validate.Errorf("invalid --capacity %d: use 1 or more", f.capacity)
	}
	var set, remove []string
	for _, l := range f.labels {
		if k, ok := strings.CutSuffix(l, "-"); ok && !strings.Contains(l, "=") {
			remove = append(remove, k)
		} else {
			set = append(set, l)
		}
	}
	if _, err := validate.Labels(set); err != nil {
		return err
	}
	return a.withStore(cmd, func(p *provisioner.Provisioner) error {
		ctx := cmd.Context()
		if _, err := p.Store.GetServer(ctx, name); err != nil {
			return err
		}
		if dsn != "" {
			srv, err := p.SetServerDSN(ctx, name, dsn)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "server %s: admin DSN changed (%s:%d as %s, same server); the old DSN is forgotten\n", name, srv.Host, srv.Port, srv.AdminRole)
		}
		if cmd.Flags().Changed("capacity") {
			if err := p.SetServerCapacity(ctx, name, f.capacity); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "server %s: capacity %d\n", name, f.capacity)
		}
		if len(f.labels) > 0 {
			labels, err := p.SetServerLabels(ctx, name, set, remove)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "server %s: labels %s\n", name, validate.FormatLabels(labels))
		}
		return nil
	})
}
