// Package config reads and writes tenantctl's optional config file and resolves each
// setting in order: command-line flag, then TENANTCTL_* environment variable, then the
// config file, then the default.
//
// It holds settings only; it never opens a connection.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// DefaultPath is the config file read when none is named and it exists.
const DefaultPath = ".tenantctl/config.yaml"

// File is the config file's content. Every field has the same meaning as the flag of the
// same name.
type File struct {
	Catalog          string            `yaml:"catalog,omitempty"`
	SecretKeyFile    string            `yaml:"secret_key_file,omitempty"`
	TenantMigrations string            `yaml:"tenant_migrations,omitempty"`
	RollupSpec       string            `yaml:"rollup_spec,omitempty"`
	LogLevel         string            `yaml:"log_level,omitempty"`
	LogFormat        string            `yaml:"log_format,omitempty"`
	Scheduler        map[string]string `yaml:"scheduler,omitempty"`
	// DevDir is where `tenantctl dev up` keeps its local clusters.
	DevDir string `yaml:"dev_dir,omitempty"`
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
	for _, p := range []*string{&f.SecretKeyFile, &f.TenantMigrations, &f.RollupSpec, &f.DevDir} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	return f, nil
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
