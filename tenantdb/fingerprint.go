package tenantdb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// fingerprintQuery hashes what a database holds that a clone of it would carry into a
// tenant: every relation, column grant, function (its code, language, owner, SECURITY
// DEFINER mark and access list), schema, type, default privilege, extension, foreign
// data wrapper, server and user mapping, publication, event trigger, rule, trigger,
// policy, large object, language and cast — system schemas included. A clone copies the
// catalogs byte for byte, OIDs included, so a fresh clone hashes like its template; the
// hash changes when anything in it is added, dropped, granted or redefined.
const fingerprintQuery = `
SELECT encode(sha256(convert_to(string_agg(line, E'\n' ORDER BY line), 'UTF8')), 'hex') FROM (
    SELECT concat_ws(' ', 'rel', c.oid, c.relnamespace, c.relname, c.relkind, c.relowner, c.relacl, c.relrowsecurity) AS line
    FROM pg_class c WHERE c.relpersistence <> 't'
  UNION ALL
    SELECT concat_ws(' ', 'col', a.attrelid, a.attnum, a.attname, a.atttypid, a.attacl)
    FROM pg_attribute a WHERE a.attacl IS NOT NULL OR a.attrelid >= 16384
  UNION ALL
    SELECT concat_ws(' ', 'proc', p.oid, p.pronamespace, p.proname, p.proowner, p.proacl, p.prosecdef, p.prolang, md5(p.prosrc), p.probin, p.proconfig)
    FROM pg_proc p
  UNION ALL
    SELECT concat_ws(' ', 'nsp', n.oid, n.nspname, n.nspowner, n.nspacl) FROM pg_namespace n WHERE n.nspname !~ '^pg_(toast_)?temp_'
  UNION ALL
    SELECT concat_ws(' ', 'type', t.oid, t.typnamespace, t.typname, t.typowner, t.typacl) FROM pg_type t WHERE t.oid >= 16384 OR t.typacl IS NOT NULL
  UNION ALL
    SELECT concat_ws(' ', 'defacl', d.defaclrole, d.defaclnamespace, d.defaclobjtype, d.defaclacl) FROM pg_default_acl d
  UNION ALL
    SELECT concat_ws(' ', 'ext', e.extname, e.extversion, e.extowner) FROM pg_extension e
  UNION ALL
    SELECT concat_ws(' ', 'fdw', w.fdwname, w.fdwowner, w.fdwacl, w.fdwoptions) FROM pg_foreign_data_wrapper w
  UNION ALL
    SELECT concat_ws(' ', 'srv', s.srvname, s.srvowner, s.srvacl, s.srvoptions) FROM pg_foreign_server s
  UNION ALL
    SELECT concat_ws(' ', 'um', u.srvname, u.usename) FROM pg_user_mappings u
  UNION ALL
    SELECT concat_ws(' ', 'pub', p.pubname, p.pubowner, p.puballtables) FROM pg_publication p
  UNION ALL
    SELECT concat_ws(' ', 'evt', e.evtname, e.evtevent, e.evtowner, e.evtfoid, e.evtenabled) FROM pg_event_trigger e
  UNION ALL
    SELECT concat_ws(' ', 'rule', r.oid, r.ev_class, r.rulename, r.ev_enabled, md5(r.ev_action::text)) FROM pg_rewrite r
  UNION ALL
    SELECT concat_ws(' ', 'trg', t.oid, t.tgrelid, t.tgname, t.tgfoid, t.tgenabled) FROM pg_trigger t
  UNION ALL
    SELECT concat_ws(' ', 'pol', p.polrelid, p.polname, p.polroles, md5(coalesce(p.polqual::text, '') || coalesce(p.polwithcheck::text, ''))) FROM pg_policy p
  UNION ALL
    SELECT concat_ws(' ', 'lo', l.oid, l.lomowner, l.lomacl) FROM pg_largeobject_metadata l
  UNION ALL
    SELECT concat_ws(' ', 'lang', l.lanname, l.lanowner, l.lanpltrusted, l.lanacl) FROM pg_language l
  UNION ALL
    SELECT concat_ws(' ', 'cast', c.oid, c.castsource, c.casttarget, c.castfunc) FROM pg_cast c WHERE c.oid >= 16384
  UNION ALL
    SELECT concat_ws(' ', 'op', o.oid, o.oprnamespace, o.oprname, o.oprowner, o.oprcode) FROM pg_operator o WHERE o.oid >= 16384
) f`

func fingerprint(ctx context.Context, conn *pgx.Conn) (string, error) {
	var fp string
	if err := conn.QueryRow(ctx, fingerprintQuery, pgx.QueryExecModeSimpleProtocol).Scan(&fp); err != nil {
		return "", fmt.Errorf("fingerprint %s: %w", conn.Config().Database, err)
	}
	return fp, nil
}

// Fingerprint returns the fingerprint of database db (see [Server.EnsureTemplate]): a
// fresh clone of a template fingerprints like the template did when it was built.
func (s *Server) Fingerprint(ctx context.Context, db string) (string, error) {
	conn, err := s.Connect(ctx, db)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return fingerprint(ctx, conn)
}

// FingerprintKeep is [Server.Fingerprint] keeping the connection open for the caller
// (who closes it), so the work that follows on the same database needs no new login.
// On error the connection is closed and nil.
func (s *Server) FingerprintKeep(ctx context.Context, id string) (string, *pgx.Conn, error) {
	conn, err := s.connectTenant(ctx, id)
	if err != nil {
		return "", nil, err
	}
	fp, err := fingerprint(ctx, conn)
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return "", nil, err
	}
	return fp, conn, nil
}

// FingerprintOn is [Server.Fingerprint] of the database conn is connected to.
func (s *Server) FingerprintOn(ctx context.Context, conn *pgx.Conn) (string, error) {
	return fingerprint(ctx, conn)
}

// TemplateDriftError says a fresh clone of a template does not fingerprint as the
// template did when it was built: something in the template was changed since.
type TemplateDriftError struct {
	Server, Template string
	Want, Got        string
}

func (e *TemplateDriftError) Error() string {
	return fmt.Sprintf("template %s on server %s changed since it was built (fingerprint %.12s, recorded %.12s): it is rebuilt, not cloned",
		e.Template, e.Server, e.Got, e.Want)
}
