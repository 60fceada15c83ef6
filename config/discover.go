package config

import (
	"os"
	"path/filepath"
)

// Found says which config file [Discover] picked and why.
type Found struct {
	// Path is the file to read; "" when there is none.
	Path string
	// Project is the project config file commands that write one (`dev up`, `demo`)
	// use: the one found in the working directory or a parent, else DefaultPath in the
	// working directory.
	Project string
	// Source is "project" or "user" for a discovered file, "" when none was found.
	Source string
}

// Discover finds the config file when none is named with --config or TENANTCTL_CONFIG:
// .tenantctl/config.yaml in wd or the nearest parent that has one, then the per-user
// file $XDG_CONFIG_HOME/tenantctl/config.yaml ($HOME/.config/… when XDG_CONFIG_HOME is
// unset). getenv reads the environment (HOME, XDG_CONFIG_HOME).
func Discover(wd string, getenv func(string) string) Found {
	var f Found
	if wd != "" {
		f.Project = filepath.Join(wd, DefaultPath)
		for dir := wd; ; dir = filepath.Dir(dir) {
			p := filepath.Join(dir, DefaultPath)
			if isFile(p) {
				f.Path, f.Project, f.Source = p, p, "project"
				return f
			}
			if dir == filepath.Dir(dir) {
				break
			}
		}
	}
	if p := UserPath(getenv); p != "" && isFile(p) {
		f.Path, f.Source = p, "user"
	}
	return f
}

// UserPath is the per-user config file: $XDG_CONFIG_HOME/tenantctl/config.yaml, or
// $HOME/.config/tenantctl/config.yaml; "" when neither variable is set.
func UserPath(getenv func(string) string) string {
	base := getenv("XDG_CONFIG_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			return ""
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "tenantctl", "config.yaml")
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}
