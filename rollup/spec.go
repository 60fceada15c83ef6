package rollup

import (
	"bytes"
	_ "embed"
	"errors"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// Modes of a rolled-up table.
const (
	ModeIncremental = "incremental"
	ModeFull        = "full"
)

//go:embed default-spec.yaml
var defaultSpec []byte

// Spec lists the tables a rollup copies.
type Spec struct {
	Tables []Table `yaml:"tables"`
}

// Table is one rolled-up table.
type Table struct {
	// Name is the source table, optionally schema-qualified (default schema public). It
	// lands in the warehouse's schema public under its bare name.
	Name string   `yaml:"name"`
	Key  []string `yaml:"key"`
	Mode string   `yaml:"mode"`
	// Refresh, for a materialized view, refreshes it (as the tenant's owner, before the
	// run's snapshot) on every run. Without it an unpopulated materialized view is
	// skipped with a note and a populated one is copied as it stands.
	Refresh bool `yaml:"refresh"`
}

// Schema is the source schema.
func (t Table) Schema() string {
	if s, _, ok := strings.Cut(t.Name, "."); ok {
		return s
	}
	return "public"
}

// Relname is the bare table name (the warehouse table's name).
func (t Table) Relname() string {
	if _, n, ok := strings.Cut(t.Name, "."); ok {
		return n
	}
	return t.Name
}

// DefaultSpec is the spec for the embedded tenant schema.
func DefaultSpec() Spec {
	s, err := ParseSpec(defaultSpec)
	if err != nil {
		panic("rollup: embedded spec: " + err.Error())
	}
	return s
}

// LoadSpec reads a spec file; an empty path gives [DefaultSpec].
func LoadSpec(path string) (Spec, error) {
	if path == "" {
		return DefaultSpec(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, validate.Errorf("read rollup spec: %v", err)
	}
	return ParseSpec(b)
}

// ParseSpec parses and validates a spec. Every error is invalid input.
func ParseSpec(b []byte) (Spec, error) {
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return Spec{}, validate.Errorf("invalid rollup spec: %v", err)
	}
	if len(s.Tables) == 0 {
		return Spec{}, validate.Errorf("invalid rollup spec: it lists no tables")
	}
	seen := map[string]bool{}
	for i := range s.Tables {
		t := &s.Tables[i]
		parts := strings.Split(t.Name, ".")
		if len(parts) > 2 {
			return Spec{}, validate.Errorf("invalid rollup spec: table %q: use name or schema.name", t.Name)
		}
		for _, p := range parts {
			if err := validate.Identifier(p); err != nil {
				return Spec{}, validate.Errorf("invalid rollup spec: table %q: %v", t.Name, err)
			}
		}
		if seen[t.Relname()] {
			return Spec{}, validate.Errorf("invalid rollup spec: two tables land in the warehouse as %q", t.Relname())
		}
		seen[t.Relname()] = true
		if len(t.Key) == 0 {
			return Spec{}, validate.Errorf("invalid rollup spec: table %q needs key columns (its primary key)", t.Name)
		}
		for _, k := range t.Key {
			if err := validate.Identifier(k); err != nil {
				return Spec{}, validate.Errorf("invalid rollup spec: table %q key: %v", t.Name, err)
			}
			if k == "tenant_id" {
				return Spec{}, validate.Errorf("invalid rollup spec: table %q: column tenant_id is reserved for the warehouse", t.Name)
			}
		}
		switch t.Mode {
		case "":
			t.Mode = ModeIncremental
		case ModeIncremental, ModeFull:
		default:
			return Spec{}, validate.Errorf("invalid rollup spec: table %q: mode %q: use incremental or full", t.Name, t.Mode)
		}
	}
	return s, nil
}

// TableNames returns the spec's source table names.
func (s Spec) TableNames() []string {
	out := make([]string, len(s.Tables))
	for i, t := range s.Tables {
		out[i] = t.Name
	}
	return out
}
