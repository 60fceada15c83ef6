package tenantdb

import "github.com/jackc/pgx/v5"

// SystemFinding is something in a database's system schemas (pg_catalog,
// information_schema) that initdb did not leave there, or a function declared in a
// native language (internal, c) outside any extension: the server-wide doors a
// superuser can open inside one database (a file-reading system function granted to
// PUBLIC, a SECURITY DEFINER function planted in pg_catalog, a file reader declared by
// hand).
type SystemFinding struct {
	// Kind is "added" (an object initdb did not create, by OID: at or above 16384,
	// FirstNormalObjectId), "acl" (a system object whose owner, SECURITY DEFINER mark or
	// access list differs from initdb's, as pg_init_privs records them) or "native" (a
	// function in LANGUAGE internal or c that belongs to no extension).
	Kind string
	// What describes it, names quoted by PostgreSQL.
	What string
	// Name is the object's bare name; Symbol the C symbol a function runs ("" when not
	// native).
	Name, Symbol string
}

// systemQuery lists the [SystemFinding]s of one database. Objects that belong to an
// extension are the extension's business (db.extensions). information_schema's
// objects may grant PUBLIC the read initdb gives them after it records pg_init_privs.
const systemQuery = `
WITH sys AS (
    SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema')
), ext AS (
    SELECT classid, objid FROM pg_depend WHERE deptype = 'e'
), procs AS (
    -- Only functions initdb did not create (OID at or above FirstNormalObjectId) can be
    -- "added" or "native" ones: an index scan, not every function of the database.
    SELECT p.oid, p.proname::text AS name, p.pronamespace, p.proowner, p.prosecdef, p.prosrc, p.prokind, l.lanname,
           EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_proc'::regclass AND ext.objid = p.oid) AS in_ext
    FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
    WHERE p.oid >= 16384
), rels AS (
    SELECT c.oid, c.relname::text AS name, c.relowner, c.relacl, c.relkind, n.nspname = 'information_schema' AS infoschema,
           CASE c.relkind WHEN 'r' THEN 'table ' WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view ' WHEN 'S' THEN 'sequence '
                          WHEN 'i' THEN 'index ' WHEN 'f' THEN 'foreign table ' ELSE 'relation ' END
             || quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS what,
           EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid) AS in_ext
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relnamespace IN (SELECT oid FROM sys)
)
SELECT kind, what, name, symbol FROM (
    SELECT 'added' AS kind, CASE p.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate ' ELSE 'function ' END || p.pronamespace::regnamespace::text || '.' || quote_ident(p.name) || '(' || pg_get_function_identity_arguments(p.oid) || ')' || ' (owned by ' || pg_get_userbyid(p.proowner) || ', LANGUAGE ' || p.lanname
           || CASE WHEN p.prosecdef THEN ', SECURITY DEFINER' ELSE '' END || ')' AS what, p.name, '' AS symbol
    FROM procs p
    WHERE p.pronamespace IN (SELECT oid FROM sys) AND NOT p.in_ext AND p.lanname NOT IN ('internal', 'c')
  UNION ALL
    SELECT 'added', r.what || ' (owned by ' || pg_get_userbyid(r.relowner) || ')', r.name, ''
    FROM rels r WHERE r.oid >= 16384 AND NOT r.in_ext
  UNION ALL
    SELECT 'added', 'type ' || quote_ident(n.nspname) || '.' || quote_ident(t.typname) || ' (owned by ' || pg_get_userbyid(t.typowner) || ')', t.typname::text, ''
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.typnamespace IN (SELECT oid FROM sys) AND t.oid >= 16384 AND t.typrelid = 0
      AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)
      AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_type'::regclass AND ext.objid = t.oid)
  UNION ALL
    SELECT 'added', 'operator ' || o.oid::regoperator::text || ' (owned by ' || pg_get_userbyid(o.oprowner) || ')', o.oprname::text, ''
    FROM pg_operator o
    WHERE o.oprnamespace IN (SELECT oid FROM sys) AND o.oid >= 16384
      AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_operator'::regclass AND ext.objid = o.oid)
  UNION ALL
    SELECT 'added', 'trigger ' || quote_ident(tg.tgname) || ' on ' || r.what, tg.tgname::text, ''
    FROM pg_trigger tg JOIN rels r ON r.oid = tg.tgrelid
  UNION ALL
    SELECT 'acl', CASE p.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate ' ELSE 'function ' END || p.pronamespace::regnamespace::text || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')' || ' is ' || concat_ws(' and ',
               CASE WHEN p.pronamespace NOT IN (SELECT oid FROM sys) THEN 'in schema ' || p.pronamespace::regnamespace::text END,
               CASE WHEN p.proowner <> 10 THEN 'owned by ' || pg_get_userbyid(p.proowner) END,
               CASE WHEN p.prosecdef THEN 'SECURITY DEFINER' END,
               CASE WHEN NOT (x.acl @> x.exp AND x.acl <@ x.may) THEN 'granted ' || x.acl::text || ' (initdb: ' || x.exp::text || ')' END),
           p.proname::text, p.prosrc
    FROM pg_proc p LEFT JOIN pg_init_privs i ON i.objoid = p.oid AND i.classoid = 'pg_proc'::regclass AND i.objsubid = 0
    CROSS JOIN LATERAL (SELECT coalesce(p.proacl, acldefault('f', p.proowner)) AS acl, coalesce(i.initprivs, acldefault('f', 10)) AS exp,
                               coalesce(i.initprivs, acldefault('f', 10)) AS may) x
    -- Every function initdb made, wherever it is: one outside the system schemas (moved
    -- out of information_schema, or that schema renamed) is reported for being there,
    -- since the customer-object reads start at OID 16384.
    WHERE p.oid < 16384
      AND (p.pronamespace NOT IN (SELECT oid FROM sys)
           -- A function with no access list, no initdb record and the bootstrap
           -- superuser as owner holds exactly initdb's default: only the others need
           -- their lists compared.
           OR (p.proowner <> 10 OR p.prosecdef OR p.proacl IS NOT NULL OR i.initprivs IS NOT NULL)
              AND (p.proowner <> 10 OR p.prosecdef OR NOT (x.acl @> x.exp AND x.acl <@ x.may)))
  UNION ALL
    SELECT 'acl', r.what || ' is ' || concat_ws(' and ',
               CASE WHEN r.relowner <> 10 THEN 'owned by ' || pg_get_userbyid(r.relowner) END,
               CASE WHEN NOT (x.acl @> x.exp AND x.acl <@ x.may) THEN 'granted ' || x.acl::text || ' (initdb: ' || x.exp::text || ')' END),
           r.name, ''
    FROM rels r LEFT JOIN pg_init_privs i ON i.objoid = r.oid AND i.classoid = 'pg_class'::regclass AND i.objsubid = 0
    CROSS JOIN LATERAL (SELECT coalesce(r.relacl, acldefault('r', r.relowner)) AS acl,
                               coalesce(i.initprivs, acldefault('r', 10)) AS exp,
                               CASE WHEN r.infoschema THEN array_append(coalesce(i.initprivs, acldefault('r', 10)), makeaclitem(0, 10, 'SELECT', false))
                                    ELSE coalesce(i.initprivs, acldefault('r', 10)) END AS may) x
    WHERE r.oid < 16384 AND r.relkind <> 'i'
      AND (r.relowner <> 10 OR NOT (x.acl @> x.exp AND x.acl <@ x.may))
  UNION ALL
    SELECT 'acl', 'column ' || a.attname || ' of ' || r.what || ' is granted ' || coalesce(a.attacl::text, '{}') || ' (initdb: ' || coalesce(i.initprivs::text, '{}') || ')', r.name, ''
    FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND a.attacl IS NOT NULL
    LEFT JOIN pg_init_privs i ON i.objoid = r.oid AND i.classoid = 'pg_class'::regclass AND i.objsubid = a.attnum
    WHERE r.oid < 16384 AND a.attacl IS DISTINCT FROM i.initprivs
  UNION ALL
    -- A column initdb granted something on whose access list is now empty (the same
    -- finding, split so that neither half reads every column of every system table).
    SELECT 'acl', 'column ' || a.attname || ' of ' || r.what || ' is granted {} (initdb: ' || i.initprivs::text || ')', r.name, ''
    FROM pg_init_privs i JOIN pg_attribute a ON a.attrelid = i.objoid AND a.attnum = i.objsubid JOIN rels r ON r.oid = i.objoid
    WHERE i.classoid = 'pg_class'::regclass AND i.objsubid > 0 AND r.oid < 16384 AND a.attacl IS NULL
  UNION ALL
    SELECT 'acl', 'schema ' || quote_ident(n.nspname) || ' is ' || concat_ws(' and ',
               CASE WHEN n.nspowner <> 10 THEN 'owned by ' || pg_get_userbyid(n.nspowner) END,
               CASE WHEN NOT (x.acl @> x.exp AND x.acl <@ x.may) THEN 'granted ' || x.acl::text || ' (initdb: ' || x.exp::text || ')' END),
           n.nspname::text, ''
    FROM pg_namespace n LEFT JOIN pg_init_privs i ON i.objoid = n.oid AND i.classoid = 'pg_namespace'::regclass AND i.objsubid = 0
    CROSS JOIN LATERAL (SELECT coalesce(n.nspacl, acldefault('n', n.nspowner)) AS acl,
                               coalesce(i.initprivs, acldefault('n', 10)) AS exp,
                               CASE WHEN n.nspname = 'information_schema' THEN array_append(coalesce(i.initprivs, acldefault('n', 10)), makeaclitem(0, 10, 'USAGE', false))
                                    ELSE coalesce(i.initprivs, acldefault('n', 10)) END AS may) x
    WHERE n.oid IN (SELECT oid FROM sys)
      AND (n.nspowner <> 10 OR NOT (x.acl @> x.exp AND x.acl <@ x.may))
  UNION ALL
    -- Initdb's relations and types (OID below 16384) outside the system schemas: moved
    -- out of information_schema, or that schema renamed (the customer-object reads start
    -- at OID 16384, so they are reported here).
    SELECT 'acl', o.what || ' ' || o.nsp::regnamespace::text || '.' || quote_ident(o.name) || ' is in schema ' || o.nsp::regnamespace::text, o.name, ''
    FROM (SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'S' THEN 'sequence' ELSE 'table' END AS what, c.relname::text AS name, c.relnamespace AS nsp
          FROM pg_class c WHERE c.oid < 16384 AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
        UNION ALL
          SELECT 'type', t.typname::text, t.typnamespace FROM pg_type t WHERE t.oid < 16384 AND t.typrelid = 0) o
    WHERE o.nsp NOT IN (SELECT oid FROM sys)
  UNION ALL
    SELECT 'native', CASE p.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate ' ELSE 'function ' END || p.pronamespace::regnamespace::text || '.' || quote_ident(p.name) || '(' || pg_get_function_identity_arguments(p.oid) || ')' || ' (owned by ' || pg_get_userbyid(p.proowner) || ') is declared LANGUAGE ' || p.lanname || ' AS ' || quote_literal(p.prosrc)
           || CASE WHEN p.prosecdef THEN ' SECURITY DEFINER' ELSE '' END, p.name, p.prosrc
    FROM procs p
    WHERE p.lanname IN ('internal', 'c') AND NOT p.in_ext
      -- An aggregate is catalogued as LANGUAGE internal AS 'aggregate_dummy'; what it
      -- runs are its support functions, each a row of its own here.
      AND NOT (p.prokind = 'a' AND p.prosrc = 'aggregate_dummy' AND EXISTS (SELECT 1 FROM pg_aggregate g WHERE g.aggfnoid = p.oid))
      -- CREATE TYPE … AS RANGE declares its constructors in LANGUAGE internal, bound to
      -- the type; those symbols build a range and nothing else.
      AND NOT ` + rangeConstructor + `
) f ORDER BY 1, 2
`

func scanSystem(rows pgx.Rows) ([]SystemFinding, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (SystemFinding, error) {
		var f SystemFinding
		return f, r.Scan(&f.Kind, &f.What, &f.Name, &f.Symbol)
	})
}
