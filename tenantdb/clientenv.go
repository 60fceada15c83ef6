package tenantdb

import (
	"net/url"
	"strconv"
	"strings"
)

// ClientEnv returns the libpq environment (PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGDATABASE, and the TLS settings the admin DSN names) that lets a PostgreSQL client
// program (pg_dump, pg_restore) reach database db as the admin role. Passing the
// connection through the child's environment keeps the password off its command line,
// where every user of the machine could read it in ps.
func (s *Server) ClientEnv(db string) []string {
	return s.ClientEnvAs(db, s.cfg.User, s.cfg.Password)
}

// ClientEnvAs is [Server.ClientEnv] logging in as user with password (a tenant's owner
// login) instead of the admin.
func (s *Server) ClientEnvAs(db, user, password string) []string {
	env := []string{
		"PGHOST=" + s.cfg.Host,
		"PGPORT=" + strconv.Itoa(int(s.cfg.Port)),
		"PGUSER=" + user,
		"PGDATABASE=" + db,
		"PGAPPNAME=tenantctl",
	}
	if password != "" {
		env = append(env, "PGPASSWORD="+password)
	}
	for k, v := range dsnParams(s.dsn) {
		if name, ok := libpqEnv[k]; ok {
			env = append(env, name+"="+v)
		}
	}
	return env
}

// libpqEnv maps the connection parameters worth passing on to their libpq variables.
var libpqEnv = map[string]string{
	"sslmode":         "PGSSLMODE",
	"sslrootcert":     "PGSSLROOTCERT",
	"sslcert":         "PGSSLCERT",
	"sslkey":          "PGSSLKEY",
	"connect_timeout": "PGCONNECT_TIMEOUT",
}

// dsnParams reads the parameters of a URL or keyword/value connection string.
func dsnParams(dsn string) map[string]string {
	out := map[string]string{}
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		for k, v := range u.Query() {
			if len(v) > 0 {
				out[k] = v[0]
			}
		}
		return out
	}
	for _, f := range strings.Fields(dsn) {
		if k, v, ok := strings.Cut(f, "="); ok {
			out[k] = strings.Trim(v, "'")
		}
	}
	return out
}
