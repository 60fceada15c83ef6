package localpg

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// hbaBegin and hbaEnd delimit the block [Cluster.WriteHBA] manages in pg_hba.conf.
const (
	hbaBegin = "# localpg: managed lines begin"
	hbaEnd   = "# localpg: managed lines end"
)

// WriteHBA places lines first in the cluster's pg_hba.conf, replacing the lines a
// previous call placed there ("" removes them). The server reads the file again on a
// reload (pg_reload_conf(), or a restart).
func (c *Cluster) WriteHBA(lines string) error {
	path := filepath.Join(c.DataDir(), "pg_hba.conf")
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	rest := string(b)
	if i := strings.Index(rest, hbaBegin); i >= 0 {
		if j := strings.Index(rest[i:], hbaEnd); j >= 0 {
			rest = rest[:i] + strings.TrimPrefix(rest[i+j+len(hbaEnd):], "\n")
		}
	}
	out := rest
	if lines != "" {
		out = hbaBegin + "\n" + strings.TrimRight(lines, "\n") + "\n" + hbaEnd + "\n" + rest
	}
	// Rewriting the file in place keeps its owner (the server's OS user when run as root).
	return os.WriteFile(path, []byte(out), 0o600)
}

// Reload makes a running server read its configuration files again (pg_hba.conf
// included); a stopped one reads them when it starts.
func (c *Cluster) Reload(ctx context.Context) error {
	if st := c.Status(ctx); !st.Running {
		return nil
	}
	if _, err := c.run(ctx, "pg_ctl", "-D", c.DataDir(), "reload"); err != nil {
		return fmt.Errorf("reload PostgreSQL in %s: %w", c.Dir, err)
	}
	return nil
}
