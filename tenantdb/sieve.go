package tenantdb

import (
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The sieve: plain reads of the catalogs that the three costliest inspection statements
// (inspectQuery, systemQuery, bridgesQuery) join, with the logic in Go. On a new
// session's cold caches the server spends most of an inspection parsing and planning
// those statements (their CTEs, joins and access-list operators), not reading: the same
// catalogs read by single-table statements cost a fraction of it (see
// docs/performance.md). The sieve only decides whether a statement can find anything;
// it never reports. When it cannot rule a finding out, the statement itself runs in a
// second round trip and reports exactly as it always did, so every check keeps its SQL,
// its wording and its meaning, and a mistake in the sieve can only cost a round trip if
// it errs towards "maybe". A clean database (every tenant database, normally) costs one
// round trip of simple reads.

// Fixed OIDs of PostgreSQL: the catalog and toast schemas, the bootstrap superuser,
// and FirstNormalObjectId (every object made after initdb has an OID at least that).
const (
	pgCatalogNamespace = 11
	pgToastNamespace   = 99
	bootstrapSuperuser = 10
	firstNormalOID     = 16384
	cLanguageOID       = 13
)

// sieveQueries are sent in this order; scanSieve reads them in the same order.
var sieveQueries = []string{
	// 0: the owner role and pg_database_owner (as inspectQuery resolves them), initdb's
	// default access lists, and the PUBLIC grants information_schema may hold.
	`SELECT coalesce(to_regrole(quote_ident($1))::oid, 0), coalesce(to_regrole('pg_database_owner')::oid, 0),
       acldefault('f', 10)::text[], acldefault('r', 10)::text[], acldefault('n', 10)::text[],
       makeaclitem(0, 10, 'SELECT', false)::text, makeaclitem(0, 10, 'USAGE', false)::text, current_database()`,
	// 1
	`SELECT oid, nspname::text, nspowner, pg_get_userbyid(nspowner)::text, coalesce(nspacl, acldefault('n', nspowner))::text[], nspacl::text[] FROM pg_namespace`,
	// 2
	`SELECT objoid, classoid, objsubid, initprivs::text[] FROM pg_init_privs`,
	// 3: every function that can be a finding of systemQuery or inspectQuery: made after
	// initdb, or not exactly as initdb leaves a plain pg_catalog function.
	`SELECT oid, proname::text, pronamespace, proowner, prosecdef, prokind::text, prolang,
       CASE WHEN oid >= 16384 THEN prosrc ELSE '' END, coalesce(proacl, acldefault('f', proowner))::text[],
       CASE WHEN oid >= 16384 THEN pg_get_userbyid(proowner)::text ELSE '' END
FROM pg_proc
WHERE oid >= 16384 OR proowner <> 10 OR prosecdef OR proacl IS NOT NULL OR pronamespace <> 11
   OR oid IN (SELECT objoid FROM pg_init_privs WHERE classoid = 'pg_proc'::regclass)`,
	// 4: relations, but the toast tables and their indexes made after initdb.
	// Of initdb's, only those not exactly as initdb leaves a plain pg_catalog relation
	// (another owner, an access list, an initdb record, another schema); one not read is
	// such a relation of pg_catalog. (A relation without an access list holds its
	// owner's default, initdb's own when the owner is the bootstrap superuser: the
	// acldefault read first.)
	`SELECT oid, relnamespace, relowner, relkind::text, relacl::text[],
       CASE WHEN oid >= 16384 THEN relname::text ELSE '' END, CASE WHEN oid >= 16384 THEN pg_get_userbyid(relowner)::text ELSE '' END
FROM pg_class
WHERE CASE WHEN oid >= 16384 THEN relnamespace <> 99
           ELSE relowner <> 10 OR relacl IS NOT NULL OR (relnamespace <> 11 AND relkind NOT IN ('t', 'i'))
                OR oid IN (SELECT objoid FROM pg_init_privs WHERE classoid = 'pg_class'::regclass) END`,
	// 5: the columns with an access list (one plain scan; a column initdb granted on that
	// has none is one missing here).
	`SELECT attrelid, attnum::int, attacl::text[] FROM pg_attribute WHERE attacl IS NOT NULL`,
	// 6
	`SELECT oid, typnamespace, typowner, typrelid, typarray, typtype::text FROM pg_type WHERE oid >= 16384 OR typnamespace <> 11`,
	// 7
	`SELECT oprnamespace FROM pg_operator WHERE oid >= 16384`,
	// 8
	`SELECT tgrelid FROM pg_trigger`,
	// 9: the members of extensions, and the internal dependencies of functions on types
	// (a range type's constructors), in one scan.
	`SELECT classid, objid, refobjid, deptype::text = 'e' FROM pg_depend
WHERE deptype = 'e' OR (classid = 'pg_proc'::regclass AND refclassid = 'pg_type'::regclass AND deptype = 'i' AND objid >= 16384)`,
	// 10
	`SELECT oid, lanname::text FROM pg_language`,
	// 11
	`SELECT aggfnoid::oid FROM pg_aggregate WHERE aggfnoid::oid >= 16384`,
	// 13
	`SELECT extname::text FROM pg_extension ORDER BY 1`,
	// 14: anything reaching outside (a user mapping needs a foreign server); what
	// objectsQuery lists but functions (publications, event triggers, rules made after
	// initdb but views').
	`SELECT (SELECT count(*) FROM pg_foreign_data_wrapper) + (SELECT count(*) FROM pg_foreign_server),
       (SELECT count(*) FROM pg_publication) + (SELECT count(*) FROM pg_event_trigger)
       + (SELECT count(*) FROM pg_rewrite WHERE oid >= 16384 AND rulename <> '_RETURN')`,
	// 15: default privileges.
	`SELECT pg_get_userbyid(defaclrole)::text, defaclnamespace, defaclobjtype::text, defaclacl::text[] FROM pg_default_acl`,
}

// Catalog OIDs (fixed in PostgreSQL).
const (
	pgClassOID     = 1259
	pgProcOID      = 1255
	pgTypeOID      = 1247
	pgNamespaceOID = 2615
	pgOperatorOID  = 2617
)

type sieveNS struct {
	name, ownerName string
	owner           uint32
	acl, rawACL     []string
}

type sieveProc struct {
	oid, ns, owner, lang uint32
	name, kind, src      string
	ownerName            string
	secdef               bool
	acl                  []string
}

type sieveRel struct {
	oid, ns, owner        uint32
	kind, name, ownerName string
	rawACL                []string // NULL: the owner's default
}

type sieveDefault struct {
	role, objtype string
	ns            uint32
	acl           []string
}

type sieveType struct {
	oid, ns, owner, relid, array uint32
	typtype                      string
}

type initKey struct {
	class, obj uint32
	sub        int32
}

type attKey struct {
	rel uint32
	num int32
}

// sieve is what the plain reads return.
type sieve struct {
	owner, dbOwner                  uint32
	defFunc, defRel, defNS          []string
	infoSelect, infoUsage, database string
	ns                              map[uint32]sieveNS
	initPrivs                       map[initKey][]string
	procs                           []sieveProc
	rels                            []sieveRel
	atts                            map[attKey][]string // the columns with an access list
	types                           []sieveType
	operatorNS                      []uint32
	triggerRels                     []uint32
	ext                             map[[2]uint32]bool
	lang                            map[uint32]string
	aggregates                      map[uint32]bool
	typeDeps                        map[uint32][]uint32
	extensions                      []string
	outside, objects                int64
	defaults                        []sieveDefault
}

func queueSieve(b *pgx.Batch, owner string) {
	for i, q := range sieveQueries {
		if i == 0 {
			b.Queue(q, owner)
		} else {
			b.Queue(q)
		}
	}
}

func scanSieve(br pgx.BatchResults, db string) (*sieve, error) {
	s := &sieve{ns: map[uint32]sieveNS{}, initPrivs: map[initKey][]string{}, atts: map[attKey][]string{},
		ext: map[[2]uint32]bool{}, lang: map[uint32]string{}, aggregates: map[uint32]bool{}, typeDeps: map[uint32][]uint32{}}
	what := "inspect " + db
	if _, err := readNext(br, what, func(rows pgx.Rows) (struct{}, error) {
		defer rows.Close()
		for rows.Next() {
			if err := rows.Scan(&s.owner, &s.dbOwner, &s.defFunc, &s.defRel, &s.defNS, &s.infoSelect, &s.infoUsage, &s.database); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, rows.Err()
	}); err != nil {
		return nil, err
	}
	each := func(scan func(pgx.Rows) error) error {
		_, err := readNext(br, what, func(rows pgx.Rows) (struct{}, error) {
			defer rows.Close()
			for rows.Next() {
				if err := scan(rows); err != nil {
					return struct{}{}, err
				}
			}
			return struct{}{}, rows.Err()
		})
		return err
	}
	steps := []func(pgx.Rows) error{
		func(r pgx.Rows) error {
			var oid uint32
			var n sieveNS
			err := r.Scan(&oid, &n.name, &n.owner, &n.ownerName, &n.acl, &n.rawACL)
			s.ns[oid] = n
			return err
		},
		func(r pgx.Rows) error {
			var k initKey
			var privs []string
			err := r.Scan(&k.obj, &k.class, &k.sub, &privs)
			s.initPrivs[k] = privs
			return err
		},
		func(r pgx.Rows) error {
			var p sieveProc
			err := r.Scan(&p.oid, &p.name, &p.ns, &p.owner, &p.secdef, &p.kind, &p.lang, &p.src, &p.acl, &p.ownerName)
			s.procs = append(s.procs, p)
			return err
		},
		func(r pgx.Rows) error {
			var c sieveRel
			err := r.Scan(&c.oid, &c.ns, &c.owner, &c.kind, &c.rawACL, &c.name, &c.ownerName)
			s.rels = append(s.rels, c)
			return err
		},
		func(r pgx.Rows) error {
			var k attKey
			var acl []string
			err := r.Scan(&k.rel, &k.num, &acl)
			s.atts[k] = acl
			return err
		},
		func(r pgx.Rows) error {
			var t sieveType
			err := r.Scan(&t.oid, &t.ns, &t.owner, &t.relid, &t.array, &t.typtype)
			s.types = append(s.types, t)
			return err
		},
		func(r pgx.Rows) error {
			var ns uint32
			err := r.Scan(&ns)
			s.operatorNS = append(s.operatorNS, ns)
			return err
		},
		func(r pgx.Rows) error {
			var rel uint32
			err := r.Scan(&rel)
			s.triggerRels = append(s.triggerRels, rel)
			return err
		},
		func(r pgx.Rows) error {
			var k [2]uint32
			var ref uint32
			var member bool
			err := r.Scan(&k[0], &k[1], &ref, &member)
			if member {
				s.ext[k] = true
			} else {
				s.typeDeps[k[1]] = append(s.typeDeps[k[1]], ref)
			}
			return err
		},
		func(r pgx.Rows) error {
			var oid uint32
			var name string
			err := r.Scan(&oid, &name)
			s.lang[oid] = name
			return err
		},
		func(r pgx.Rows) error {
			var oid uint32
			err := r.Scan(&oid)
			s.aggregates[oid] = true
			return err
		},
		func(r pgx.Rows) error {
			var name string
			err := r.Scan(&name)
			s.extensions = append(s.extensions, name)
			return err
		},
		func(r pgx.Rows) error { return r.Scan(&s.outside, &s.objects) },
		func(r pgx.Rows) error {
			var d sieveDefault
			err := r.Scan(&d.role, &d.ns, &d.objtype, &d.acl)
			s.defaults = append(s.defaults, d)
			return err
		},
	}
	for _, step := range steps {
		if err := each(step); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// sysNS reports whether namespace oid is a system schema as systemQuery sees them
// (named pg_catalog or information_schema).
func (s *sieve) sysNS(oid uint32) bool {
	n, ok := s.ns[oid]
	return ok && (n.name == "pg_catalog" || n.name == "information_schema")
}

// hiddenNS reports whether inspectQuery and the others skip namespace oid: the system
// schemas, toast and temporary schemas.
func (s *sieve) hiddenNS(oid uint32) bool {
	n, ok := s.ns[oid]
	if !ok {
		return false
	}
	if n.name == "pg_catalog" || n.name == "information_schema" || n.name == "pg_toast" {
		return true
	}
	return strings.HasPrefix(n.name, "pg_temp_") || strings.HasPrefix(n.name, "pg_toast_temp_")
}

func (s *sieve) inExt(class, oid uint32) bool { return s.ext[[2]uint32{class, oid}] }

// aclWithin reports acl ⊇ exp and acl ⊆ may, as sets of access-list entries (aclitem
// equality: grantee, grantor and privileges; the text form is canonical).
func aclWithin(acl, exp, may []string) bool {
	for _, e := range exp {
		if !slices.Contains(acl, e) {
			return false
		}
	}
	for _, a := range acl {
		if !slices.Contains(may, a) {
			return false
		}
	}
	return true
}

// rangeConstructor mirrors the SQL condition of the same name: p runs a range or
// multirange constructor symbol and is bound to such a type by an internal dependency.
func (s *sieve) rangeConstructor(p sieveProc) bool {
	switch p.src {
	case "range_constructor2", "range_constructor3", "multirange_constructor0", "multirange_constructor1", "multirange_constructor2":
		return s.boundToRange(p, 0)
	}
	return false
}

// boundToRange reports whether p depends internally on a range or multirange type
// (owned by owner, unless owner is 0). Types below 16384 in pg_catalog are not read:
// then it says no, and the statement runs.
func (s *sieve) boundToRange(p sieveProc, owner uint32) bool {
	for _, typ := range s.typeDeps[p.oid] {
		for _, t := range s.types {
			if t.oid == typ && (t.typtype == "r" || t.typtype == "m") && (owner == 0 || t.owner == owner) {
				return true
			}
		}
	}
	return false
}

// maySystem reports whether systemQuery can return a row.
func (s *sieve) maySystem() bool {
	// The system schemas must be where a plain pg_catalog function is looked for.
	if !s.sysNS(pgCatalogNamespace) {
		return true
	}
	// sysRel: a relation of a system schema. initdb's relations not read are plain ones
	// of pg_catalog (or toast tables and indexes: conservatively counted in).
	read, inSys := map[uint32]bool{}, map[uint32]bool{}
	for _, r := range s.rels {
		read[r.oid] = true
		if s.sysNS(r.ns) {
			inSys[r.oid] = true
			if r.oid >= firstNormalOID && !s.inExt(pgClassOID, r.oid) {
				return true // added relation
			}
		}
	}
	sysRel := func(oid uint32) bool { return inSys[oid] || oid < firstNormalOID && !read[oid] }
	for _, rel := range s.triggerRels {
		if sysRel(rel) {
			return true
		}
	}
	for _, p := range s.procs {
		if p.oid >= firstNormalOID {
			lang := s.lang[p.lang]
			native := lang == "internal" || lang == "c"
			if s.sysNS(p.ns) && !native && !s.inExt(pgProcOID, p.oid) {
				return true // added function
			}
			aggregate := p.kind == "a" && p.src == "aggregate_dummy" && s.aggregates[p.oid]
			if native && !s.inExt(pgProcOID, p.oid) && !aggregate && !s.rangeConstructor(p) {
				return true // native function
			}
			continue
		}
		if !s.sysNS(p.ns) {
			return true // initdb's function outside the system schemas
		}
		exp, recorded := s.initPrivs[initKey{pgProcOID, p.oid, 0}]
		if !recorded {
			exp = s.defFunc
		}
		if p.owner != bootstrapSuperuser || p.secdef || !aclWithin(p.acl, exp, exp) {
			return true
		}
	}
	arrays := map[uint32]bool{}
	for _, t := range s.types {
		if t.array != 0 {
			arrays[t.array] = true
		}
	}
	for _, t := range s.types {
		if t.oid >= firstNormalOID && s.sysNS(t.ns) && t.relid == 0 && !arrays[t.oid] && !s.inExt(pgTypeOID, t.oid) {
			return true // added type
		}
		if t.oid < firstNormalOID && t.relid == 0 && !s.sysNS(t.ns) {
			return true // initdb's type moved
		}
	}
	for _, ns := range s.operatorNS {
		if s.sysNS(ns) {
			return true // added operator (conservatively, extensions' too)
		}
	}
	for _, r := range s.rels {
		if r.oid >= firstNormalOID {
			continue
		}
		if !s.sysNS(r.ns) {
			switch r.kind {
			case "r", "p", "v", "m", "S", "f":
				return true // initdb's relation moved
			}
			continue
		}
		if r.kind == "i" {
			continue
		}
		exp, recorded := s.initPrivs[initKey{pgClassOID, r.oid, 0}]
		if !recorded {
			exp = s.defRel
		}
		may := exp
		if s.ns[r.ns].name == "information_schema" {
			may = append(slices.Clip(exp), s.infoSelect)
		}
		acl := r.rawACL
		if acl == nil {
			acl = s.defRel // acldefault('r', relowner), the owner being the bootstrap superuser
		}
		if r.owner != bootstrapSuperuser || !aclWithin(acl, exp, may) {
			return true
		}
	}
	for k, acl := range s.atts {
		if k.rel >= firstNormalOID || !sysRel(k.rel) || k.num <= 0 {
			continue
		}
		init, recorded := s.initPrivs[initKey{pgClassOID, k.rel, k.num}]
		if !recorded || !slices.Equal(acl, init) {
			return true
		}
	}
	for k := range s.initPrivs {
		if k.class == pgClassOID && k.sub > 0 && k.obj < firstNormalOID && sysRel(k.obj) {
			if _, has := s.atts[attKey{k.obj, k.sub}]; !has {
				return true // initdb's grant on a column gone (or the column)
			}
		}
	}
	for oid, n := range s.ns {
		if !s.sysNS(oid) {
			continue
		}
		exp, recorded := s.initPrivs[initKey{pgNamespaceOID, oid, 0}]
		if !recorded {
			exp = s.defNS
		}
		may := exp
		if n.name == "information_schema" {
			may = append(slices.Clip(exp), s.infoUsage)
		}
		if n.owner != bootstrapSuperuser || !aclWithin(n.acl, exp, may) {
			return true
		}
	}
	return false
}

// mayForeignOwned reports whether inspectQuery can list an object not owned by the
// tenant's owner role.
func (s *sieve) mayForeignOwned() bool {
	if s.owner == 0 {
		return true
	}
	for oid, n := range s.ns {
		initialPublic := n.name == "public" && (n.owner == bootstrapSuperuser || n.owner == s.dbOwner)
		if n.owner != s.owner && !s.hiddenNS(oid) && !initialPublic && !s.inExt(pgNamespaceOID, oid) {
			return true
		}
	}
	for _, r := range s.rels {
		switch r.kind {
		case "r", "p", "v", "m", "S", "f":
		default:
			continue
		}
		if r.oid >= firstNormalOID && r.owner != s.owner && !s.hiddenNS(r.ns) && !s.inExt(pgClassOID, r.oid) {
			return true
		}
	}
	for _, p := range s.procs {
		if p.oid >= firstNormalOID && p.owner != s.owner && !s.hiddenNS(p.ns) && !s.inExt(pgProcOID, p.oid) &&
			!s.boundToRange(p, s.owner) {
			return true
		}
	}
	for _, t := range s.types {
		if t.oid >= firstNormalOID && t.owner != s.owner && !s.hiddenNS(t.ns) && !s.inExt(pgTypeOID, t.oid) {
			return true // conservatively: rows types and arrays too
		}
	}
	return false
}

// mayBridge reports whether bridgesQuery can find more than the extensions: a foreign
// data wrapper or server, or a dblink-style function a view could call.
func (s *sieve) mayBridge() bool {
	if s.outside > 0 {
		return true
	}
	for _, p := range s.procs {
		if p.oid >= firstNormalOID && (strings.HasPrefix(p.name, "dblink") || p.lang == cLanguageOID && strings.HasPrefix(p.src, "dblink")) {
			return true
		}
	}
	return false
}

// mayObjects reports whether objectsQuery can list anything: a publication, event
// trigger or rule (conservatively, in any schema), or a SECURITY DEFINER function made
// after initdb outside the system schemas and extensions.
func (s *sieve) mayObjects() bool {
	if s.objects > 0 {
		return true
	}
	for _, p := range s.procs {
		if p.oid >= firstNormalOID && p.secdef && !s.hiddenNS(p.ns) && !s.inExt(pgProcOID, p.oid) {
			return true
		}
	}
	return false
}

// bridges is what bridgesQuery returns when mayBridge says it can find nothing more.
func (s *sieve) bridges() Bridges {
	return Bridges{Database: s.database, Extensions: append([]string{}, s.extensions...), ForeignDataWrappers: []string{}, UserMappings: []string{}}
}

// aclPrivileges are the privilege letters of an access-list entry (aclitem's text form).
var aclPrivileges = map[rune]string{
	'r': "SELECT", 'w': "UPDATE", 'a': "INSERT", 'd': "DELETE", 'D': "TRUNCATE", 'x': "REFERENCES", 't': "TRIGGER",
	'X': "EXECUTE", 'U': "USAGE", 'C': "CREATE", 'c': "CONNECT", 'T': "TEMPORARY", 'm': "MAINTAIN", 's': "SET", 'A': "ALTER SYSTEM",
}

// explodeACL is aclexplode on an entry's text form: its grantee ("PUBLIC" for PUBLIC)
// and privileges (grant options ignored, as privilegesQuery ignores them). ok is false
// for an entry it cannot read plainly (a quoted name): then the statement decides.
func explodeACL(item string) (grantee string, privs []string, ok bool) {
	eq := strings.LastIndexByte(item, '=')
	slash := strings.LastIndexByte(item, '/')
	if eq < 0 || slash < eq || strings.ContainsRune(item, '"') {
		return "", nil, false
	}
	grantee = item[:eq]
	if grantee == "" {
		grantee = "PUBLIC"
	}
	for _, r := range item[eq+1 : slash] {
		if r == '*' {
			continue
		}
		name, known := aclPrivileges[r]
		if !known {
			return "", nil, false
		}
		privs = append(privs, name)
	}
	return grantee, privs, true
}

// privilegesHidden are the schemas privilegesQuery skips.
func (s *sieve) privilegesHidden(ns uint32) bool { return s.hiddenNS(ns) }

// privileges builds what privilegesQuery lists, without the quoted object names, and
// reports whether all of it is allowed by e. ok is false when some entry is not, or
// could not be read plainly: privilegesQuery then runs and is what the audit judges.
func (s *sieve) privileges(e Expected) (list []Privilege, ok bool) {
	add := func(p Privilege, owner string, acl []string) bool {
		for _, item := range acl {
			grantee, privs, plain := explodeACL(item)
			if !plain {
				return false
			}
			if grantee == owner {
				continue
			}
			for _, priv := range privs {
				q := p
				q.Grantee, q.Privilege = grantee, priv
				if !e.Allows(q) {
					return false
				}
				list = append(list, q)
			}
		}
		return true
	}
	for oid, n := range s.ns {
		if n.rawACL == nil || s.privilegesHidden(oid) || s.inExt(pgNamespaceOID, oid) {
			continue
		}
		if !add(Privilege{Kind: "schema", Schema: n.name, Name: n.name}, n.ownerName, n.rawACL) {
			return nil, false
		}
	}
	for _, r := range s.rels {
		switch r.kind {
		case "r", "p", "v", "m", "S", "f":
		default:
			continue
		}
		if r.oid < firstNormalOID || r.rawACL == nil || s.privilegesHidden(r.ns) || s.inExt(pgClassOID, r.oid) {
			continue
		}
		kind := "table"
		if r.kind == "S" {
			kind = "sequence"
		}
		if !add(Privilege{Kind: kind, Schema: s.ns[r.ns].name, Name: r.name}, r.ownerName, r.rawACL) {
			return nil, false
		}
	}
	for _, p := range s.procs {
		if p.oid < firstNormalOID || s.privilegesHidden(p.ns) || s.inExt(pgProcOID, p.oid) || s.rangeConstructor(p) {
			continue
		}
		kind := "function"
		switch p.kind {
		case "p":
			kind = "procedure"
		case "f", "w":
		default:
			continue
		}
		if !add(Privilege{Kind: kind, Schema: s.ns[p.ns].name, Name: p.name, SecurityDefiner: p.secdef}, p.ownerName, p.acl) {
			return nil, false
		}
	}
	for _, d := range s.defaults {
		kind := "object"
		switch d.objtype {
		case "r":
			kind = "table"
		case "S":
			kind = "sequence"
		case "f":
			kind = "function"
		case "T":
			kind = "type"
		case "n":
			kind = "schema"
		}
		in := ""
		if d.ns != 0 {
			n, known := s.ns[d.ns]
			if !known {
				return nil, false
			}
			in = n.name
		}
		if !add(Privilege{Kind: "default:" + kind, DefaultFor: d.role, DefaultIn: in}, d.role, d.acl) {
			return nil, false
		}
	}
	return list, true
}
