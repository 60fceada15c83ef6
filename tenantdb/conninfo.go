package tenantdb

// AdminConnInfo is a libpq connection string that reaches database db on this server
// as its admin role, password included: what another server's subscription needs to
// copy from this one. It is a secret; never log or print it.
func (s *Server) AdminConnInfo(db string) string {
	return s.DSNFor(s.cfg.User, s.cfg.Password, db)
}
