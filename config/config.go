package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// DefaultPath is the project config file, relative to the working directory or any of
// its parents; `tenantctl dev up` writes it.
const DefaultPath = ".tenantctl/config.yaml"

// Settings are the settings a config file (or one context in it) may hold. Every field
// has the same meaning as the flag of the same name.
type Settings struct {
	Catalog          string            `yaml:"catalog,omitempty"`
	SecretKeyFile    string            `yaml:"secret_key_file,omitempty"`
	TenantMigrations string            `yaml:"tenant_migrations,omitempty"`
	RollupSpec       string            `yaml:"rollup_spec,omitempty"`
	LogLevel         string            `yaml:"log_level,omitempty"`
	LogFormat        string            `yaml:"log_format,omitempty"`
	Scheduler        map[string]string `yaml:"scheduler,omitempty"`
	// DevDir is where `tenantctl dev up` keeps its local clusters.
	DevDir string `yaml:"dev_dir,omitempty"`
	// RestoreHost is where restores run their scratch instances, over SSH, instead of
	// this host ([user@]host or ssh://[user@]host[:port]); RestoreSSHConfig an
	// ssh_config file for the client; RestoreBinDir PostgreSQL's server programs there.
	RestoreHost      string `yaml:"restore_host,omitempty"`
	RestoreSSHConfig string `yaml:"restore_ssh_config,omitempty"`
	RestoreBinDir    string `yaml:"restore_bin_dir,omitempty"`
}

// File is the config file's content: settings at the top level, which apply to every
// context, and named contexts (a catalog each, say dev/staging/prod) whose settings
// override them when selected.
type File struct {
	Settings       `yaml:",inline"`
	CurrentContext string              `yaml:"current_context,omitempty"`
	Contexts       map[string]Settings `yaml:"contexts,omitempty"`
}

// Load reads the config file at path. A missing file is an error only when explicit
// (the user named it); otherwise it yields an empty File. Relative paths inside the file
// are taken relative to the file's directory.
func Load(path string, explicit bool) (File, error) {
	var f File
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return f, nil
	}
	if err != nil {
		return f, validate.Errorf("read config file: %v", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return f, validate.Errorf("config file %s: %v", path, err)
	}
	base := filepath.Dir(path)
	f.absolute(base)
	for name, c := range f.Contexts {
		c.absolute(base)
		f.Contexts[name] = c
	}
	return f, nil
}

func (s *Settings) absolute(base string) {
	for _, p := range []*string{&s.SecretKeyFile, &s.TenantMigrations, &s.RollupSpec, &s.DevDir, &s.RestoreSSHConfig} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
}

// Write writes f to path with mode 0600 (it may hold a DSN with a password).
func Write(path string, f File) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	header := []byte("# Written by tenantctl; flags and TENANTCTL_* environment variables override it.\n")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(header, b...), 0o600); err != nil {
		return fmt.Errorf("write config file: %w", err)
	}
	return os.Rename(tmp, path)
}

// ContextNames returns the file's context names, sorted.
func (f File) ContextNames() []string { return slices.Sorted(maps.Keys(f.Contexts)) }

// ErrUnknownContext is returned by [File.Select] for a context the file does not define.
var ErrUnknownContext = errors.New("unknown context")

// Select returns the settings in force for the context name ("" means the file's
// current_context, and no context at all when that is empty too): the top-level settings
// overridden by the context's non-empty ones. An unknown name is invalid input that
// lists the known ones.
func (f File) Select(name string) (Settings, error) {
	if name == "" {
		name = f.CurrentContext
	}
	s := f.Settings
	if name == "" {
		return s, nil
	}
	c, ok := f.Contexts[name]
	if !ok {
		known := "none are defined"
		if len(f.Contexts) > 0 {
			known = "use one of: " + strings.Join(f.ContextNames(), ", ")
		}
		return s, validate.Invalid(fmt.Errorf("%w %q (%s)", ErrUnknownContext, name, known))
	}
	for _, p := range []struct{ dst, src *string }{
		{&s.Catalog, &c.Catalog}, {&s.SecretKeyFile, &c.SecretKeyFile}, {&s.TenantMigrations, &c.TenantMigrations},
		{&s.RollupSpec, &c.RollupSpec}, {&s.LogLevel, &c.LogLevel}, {&s.LogFormat, &c.LogFormat}, {&s.DevDir, &c.DevDir},
	} {
		if *p.src != "" {
			*p.dst = *p.src
		}
	}
	if len(c.Scheduler) > 0 {
		merged := maps.Clone(s.Scheduler)
		if merged == nil {
			merged = map[string]string{}
		}
		maps.Copy(merged, c.Scheduler)
		s.Scheduler = merged
	}
	return s, nil
}

// Resolve returns the first non-empty of flag (when set on the command line), the
// environment variable, the file value and the default.
func Resolve(flagSet bool, flagValue, envValue, fileValue, def string) string {
	switch {
	case flagSet:
		return flagValue
	case envValue != "":
		return envValue
	case fileValue != "":
		return fileValue
	default:
		return def
	}
}

// SetCurrentContext sets current_context in the config file at path to name, keeping the
// rest of the file (comments included) as it is. name must be one of its contexts.
func SetCurrentContext(path, name string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return validate.Errorf("read config file: %v", err)
	}
	f, err := Load(path, true)
	if err != nil {
		return err
	}
	if _, ok := f.Contexts[name]; !ok {
		_, err := f.Select(name)
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return validate.Errorf("config file %s: %v", path, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return validate.Errorf("config file %s: not a mapping", path)
	}
	m := doc.Content[0]
	set := false
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "current_context" {
			m.Content[i+1].SetString(name)
			set = true
		}
	}
	if !set {
		k, v := &yaml.Node{}, &yaml.Node{}
		k.SetString("current_context")
		v.SetString(name)
		m.Content = append(m.Content, k, v)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	tmp := path + ".tmp"
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if err := os.WriteFile(tmp, buf.Bytes(), fi.Mode().Perm()); err != nil {
		return fmt.Errorf("write config file: %w", err)
	}
	return os.Rename(tmp, path)
}
