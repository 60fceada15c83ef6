package demo

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tenantctl/tenantctl/migrations"
)

//go:embed migrations/*.sql
var extra embed.FS

// WriteMigrations writes an operator migrations directory: the embedded tenant schema
// plus the demo's own migrations, as an MSP would keep its application's schema. Files
// already there are left alone.
func WriteMigrations(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(fsys fs.FS, name string) error {
		target := filepath.Join(dir, filepath.Base(name))
		if _, err := os.Stat(target); err == nil {
			return nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	}
	base, err := fs.Glob(migrations.Tenant(), "*.sql")
	if err != nil {
		return err
	}
	for _, name := range base {
		if err := write(migrations.Tenant(), name); err != nil {
			return fmt.Errorf("write demo migrations: %w", err)
		}
	}
	own, err := fs.Glob(extra, "migrations/*.sql")
	if err != nil {
		return err
	}
	for _, name := range own {
		if err := write(extra, name); err != nil {
			return fmt.Errorf("write demo migrations: %w", err)
		}
	}
	return nil
}
