package audit

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// minSubstring is the shortest token matched anywhere inside a name or comment;
// shorter tokens only match as whole words, or "abc" would be found in every
// "abcdef".
const minSubstring = 4

// genericWords are words of display names too common to identify a customer on their
// own; the whole display name is still matched.
var genericWords = map[string]bool{
	"corp": true, "corporation": true, "company": true, "group": true, "holding": true, "holdings": true,
	"services": true, "service": true, "solutions": true, "systems": true, "limited": true, "international": true,
	"global": true, "technologies": true, "technology": true, "consulting": true, "partners": true, "industries": true,
	"gmbh": true, "sarl": true, "the": true, "and": true, "with": true, "team": true, "test": true, "demo": true,
	"bank": true, "health": true, "data": true, "digital": true, "software": true, "network": true, "networks": true,
	"management": true, "enterprises": true, "associates": true, "foundation": true, "agency": true, "studio": true,
	"mail": true, "www": true, "example": true,
}

// token is one string that identifies a tenant.
type token struct {
	kind  string // slug, display name, display name word, email domain, domain label
	norm  string // normalized: lowercase words separated by single spaces
	whole bool   // match only as a whole word
}

// normalize lowercases s and turns every run of characters other than letters and
// digits into one space, so "Acme-Corp", "acme_corp" and "ACME corp" compare equal.
func normalize(s string) string {
	var b strings.Builder
	space := true
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			space = false
		} else if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSpace(b.String())
}

func compact(s string) string { return strings.ReplaceAll(s, " ", "") }

// tenantTokens returns what identifies a tenant: its slug, display name (whole, and each
// distinctive word of at least 4 characters), email domain and the domain's first
// label.
func tenantTokens(t catalog.Tenant) []token {
	var out []token
	seen := map[string]bool{}
	add := func(kind, s string, wholeIfShort bool) {
		n := normalize(s)
		if n == "" || seen[n] {
			return
		}
		short := len(compact(n)) < minSubstring
		if short && !wholeIfShort {
			return
		}
		seen[n] = true
		out = append(out, token{kind: kind, norm: n, whole: short})
	}
	add("slug", t.Slug, true)
	add("email domain", t.Domain, true)
	if label, _, ok := strings.Cut(t.Domain, "."); ok && !genericWords[strings.ToLower(label)] {
		add("email domain label", label, true)
	}
	add("display name", t.Name, true)
	for _, w := range strings.Fields(normalize(t.Name)) {
		if len(w) >= minSubstring && !genericWords[w] {
			add("display name word", w, false)
		}
	}
	return out
}

// match reports whether tok occurs in the normalized text.
func (tok token) match(text nameText) bool {
	if tok.whole {
		return strings.Contains(" "+text.norm+" ", " "+tok.norm+" ")
	}
	return strings.Contains(text.norm, tok.norm) || strings.Contains(text.flat, compact(tok.norm))
}

// nameText is one name or comment readable by every role on a server.
type nameText struct {
	what string // "comment on database t_x", "role name reporting_acme"
	norm string
	flat string // norm without spaces
}

func newText(what, s string) nameText {
	n := normalize(s)
	return nameText{what: what, norm: n, flat: compact(n)}
}

// serverTexts lists the names and comments on a server that could reveal a customer:
// every comment, and every database and role name that tenantctl did not generate
// (t_<id>, templates) and that is not the server's own (system databases, predefined
// roles, the registered admin role).
func serverTexts(s *server) []nameText {
	var out []nameText
	for name, d := range s.snap.Databases {
		if !generatedName(name) && name != "postgres" && name != "template0" && name != "template1" {
			out = append(out, newText("database name "+quoteName(name), name))
		}
		if d.Comment != "" {
			out = append(out, newText("comment on database "+quoteName(name), d.Comment))
		}
	}
	for name, r := range s.snap.Roles {
		if !generatedName(name) && !strings.HasPrefix(name, "pg_") && name != "postgres" && name != s.cat.AdminRole {
			out = append(out, newText("role name "+quoteName(name), name))
		}
		if r.Comment != "" {
			out = append(out, newText("comment on role "+quoteName(name), r.Comment))
		}
	}
	for name, ts := range s.snap.Tablespaces {
		out = append(out, newText("tablespace name "+quoteName(name), name))
		if ts.Comment != "" {
			out = append(out, newText("comment on tablespace "+quoteName(name), ts.Comment))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].what < out[j].what })
	return out
}

func generatedName(name string) bool {
	if id, ok := tenantdb.ParseName(name); ok {
		return name == tenantdb.Database(id) || name == tenantdb.OwnerRole(id) || name == tenantdb.AppRole(id)
	}
	// tenantctl's own fixed roles: a customer called "Tenant …" or "Logins" is not
	// revealed by them.
	return strings.HasPrefix(name, tenantdb.TemplatePrefix) || name == tenantdb.TemplateOwnerRole || name == tenantdb.LoginsRole
}

func quoteName(s string) string { return fmt.Sprintf("%q", s) }

// checkNames looks for every audited tenant's identifying strings in the names and
// comments of every reachable server: one evaluation per tenant and server.
func (a *auditor) checkNames() {
	tokens := make([][]token, len(a.audited))
	for i, t := range a.audited {
		tokens[i] = tenantTokens(t)
	}
	for name, s := range a.reachableServers() {
		texts := serverTexts(s)
		for i, t := range a.audited {
			a.col.evaluated(CheckNamesOpaque, t.Slug)
			for _, text := range texts {
				var kinds []string
				for _, tok := range tokens[i] {
					if tok.match(text) && !containsString(kinds, tok.kind) {
						kinds = append(kinds, tok.kind)
					}
				}
				if len(kinds) > 0 {
					a.col.violation(CheckNamesOpaque, "", t.Slug, name, "%s on server %s contains the tenant's %s",
						text.what, name, strings.Join(kinds, ", "))
				}
			}
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
