package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tenantctl/tenantctl/internal/validate"
)

//go:embed default-spec.yaml
var defaultSpec []byte

// Spec is a report: a title and named queries, each shown as one section.
type Spec struct {
	Title   string  `yaml:"title"`
	Queries []Query `yaml:"queries"`
}

// Query is one section of a report: SQL over the warehouse taking the tenant id as $1.
type Query struct {
	Name  string `yaml:"name"`
	Title string `yaml:"title"`
	SQL   string `yaml:"sql"`
}

// DefaultSpec is the report for the embedded tenant schema.
func DefaultSpec() *Spec {
	s, err := ParseSpec(defaultSpec)
	if err != nil {
		panic("report: embedded spec: " + err.Error())
	}
	return s
}

// LoadSpec reads a spec file; "" means the embedded default.
func LoadSpec(path string) (*Spec, error) {
	if path == "" {
		return DefaultSpec(), nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, validate.Errorf("report spec: %v", err)
	}
	s, err := ParseSpec(raw)
	if err != nil {
		return nil, validate.Errorf("report spec %s: %v", path, err)
	}
	return s, nil
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// ParseSpec parses and checks a spec. Every error is invalid input.
func ParseSpec(raw []byte) (*Spec, error) {
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, validate.Errorf("not a valid report spec: %v", err)
	}
	if s.Title == "" {
		s.Title = "Customer report"
	}
	if len(s.Queries) == 0 {
		return nil, validate.Errorf("a report spec needs at least one query")
	}
	seen := map[string]bool{}
	for i := range s.Queries {
		q := &s.Queries[i]
		if !nameRE.MatchString(q.Name) {
			return nil, validate.Errorf("query %d: invalid name %q: use a-z, 0-9 and '_', starting with a letter", i+1, q.Name)
		}
		if seen[q.Name] {
			return nil, validate.Errorf("query %q is defined twice", q.Name)
		}
		seen[q.Name] = true
		if q.Title == "" {
			q.Title = q.Name
		}
		if err := CheckSQL(q.SQL); err != nil {
			return nil, validate.Errorf("query %q: %v", q.Name, err)
		}
	}
	return &s, nil
}

var paramRE = regexp.MustCompile(`\$([0-9]+)`)

// CheckSQL refuses a query that does not bind the tenant id: it must be one SELECT (or
// WITH … SELECT) statement that uses the parameter $1, and no other parameter.
// String literals, quoted identifiers and comments are ignored when looking for it.
func CheckSQL(sql string) error {
	code, err := stripLiterals(sql)
	if err != nil {
		return err
	}
	code = strings.TrimSpace(code)
	code = strings.TrimSpace(strings.TrimSuffix(code, ";"))
	if code == "" {
		return fmt.Errorf("empty sql")
	}
	if strings.Contains(code, ";") {
		return fmt.Errorf("one statement per query, please (found ';' inside)")
	}
	first := strings.ToLower(strings.Fields(code)[0])
	if first != "select" && first != "with" {
		return fmt.Errorf("a report query must be a SELECT (or WITH … SELECT), not %q", first)
	}
	has1 := false
	for _, m := range paramRE.FindAllStringSubmatch(code, -1) {
		if m[1] != "1" {
			return fmt.Errorf("uses parameter $%s: a report query gets exactly one parameter, $1, the tenant id", m[1])
		}
		has1 = true
	}
	if !has1 {
		return fmt.Errorf("does not bind the tenant id: filter every table on tenant_id = $1, so a customer's report can only hold its own rows")
	}
	return nil
}

// stripLiterals blanks out comments, string literals, quoted identifiers and
// dollar-quoted strings, leaving the SQL's code.
func stripLiterals(sql string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				return b.String(), nil
			}
			i += j
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				return "", fmt.Errorf("unterminated comment")
			}
			i += j + 4
			b.WriteByte(' ')
		case c == '\'' || c == '"':
			j := i + 1
			for ; j < len(sql); j++ {
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c { // doubled quote
						j++
						continue
					}
					break
				}
			}
			if j >= len(sql) {
				return "", fmt.Errorf("unterminated quoted string")
			}
			i = j + 1
			b.WriteString(" '' ")
		case c == '$' && i+1 < len(sql) && (sql[i+1] == '$' || isTagStart(sql[i+1])):
			end := strings.IndexByte(sql[i+1:], '$')
			if end < 0 {
				b.WriteByte(c)
				i++
				continue
			}
			tag := sql[i : i+end+2]
			if !validTag(tag) {
				b.WriteByte(c)
				i++
				continue
			}
			body := strings.Index(sql[i+len(tag):], tag)
			if body < 0 {
				return "", fmt.Errorf("unterminated dollar-quoted string")
			}
			i += len(tag) + body + len(tag)
			b.WriteString(" '' ")
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

func isTagStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func validTag(tag string) bool {
	inner := tag[1 : len(tag)-1]
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		if !isTagStart(c) && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}
