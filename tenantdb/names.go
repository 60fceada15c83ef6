package tenantdb

import (
	"crypto/rand"
	"regexp"
	"strconv"
	"strings"

	"github.com/tenantctl/tenantctl/internal/pghba"
)

// Prefix starts every tenant database and role name.
const Prefix = "t_"

// TemplateOwnerRole owns the objects of template databases while they are built; a
// clone hands them to its tenant's owner role with REASSIGN OWNED.
const TemplateOwnerRole = pghba.TemplateOwnerRole

// TemplatePrefix starts the names of template databases.
const TemplatePrefix = "tenantctl_tmpl_"

// Database is the tenant database's name: opaque, never the slug, name or domain, since
// every role on a server can read pg_database.
func Database(id string) string { return Prefix + id }

// OwnerRole owns the tenant database and every object in it (NOLOGIN).
func OwnerRole(id string) string { return Prefix + id + "_owner" }

// AppRole is the application's login role (DML only).
func AppRole(id string) string { return Prefix + id + "_app" }

// MoveReplicationName names the publication (in the source database), the subscription
// (in the target copy) and the replication slot of a tenant move by logical
// replication. The audit expects them while that move is open.
func MoveReplicationName(moveID int64) string {
	return "tenantctl_move_" + strconv.FormatInt(moveID, 10)
}

// TemplateName names the template database built from a migration set's hash.
func TemplateName(hash string) string {
	if len(hash) > 16 {
		hash = hash[:16]
	}
	return TemplatePrefix + hash
}

var (
	idRE     = regexp.MustCompile(`^[a-z2-7]{10}$`)
	tenantRE = regexp.MustCompile(`^t_([a-z2-7]{10})(_owner|_app)?$`)
)

// ValidID reports whether id is a well-formed tenant id.
func ValidID(id string) bool { return idRE.MatchString(id) }

// ParseName returns the tenant id in a tenant database or role name, and whether the
// name is one. Names that merely start with t_ are "named like tenants" by LooksLikeTenant.
func ParseName(name string) (id string, ok bool) {
	m := tenantRE.FindStringSubmatch(name)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// LooksLikeTenant reports whether a database or role name is in the tenant namespace.
func LooksLikeTenant(name string) bool { return strings.HasPrefix(name, Prefix) }

const idAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// NewID returns a random tenant id: 10 lowercase base32 characters (50 bits).
func NewID() string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = idAlphabet[int(b[i])%32]
	}
	return string(b)
}
