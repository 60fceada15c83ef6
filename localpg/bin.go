package localpg

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// serverBinaries are the programs a bin directory must hold to be usable.
var serverBinaries = []string{"initdb", "pg_ctl", "postgres"}

// FindBinDir returns the directory holding the PostgreSQL server binaries: the first
// of [BinDirCandidates] for initdb that holds them all.
func FindBinDir() (string, error) {
	for _, dir := range BinDirCandidates("initdb") {
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

// BinDirCandidates lists, in the order to try them, the directories that may hold a
// PostgreSQL program: $TENANTCTL_PG_BINDIR, the directory of program on PATH (links
// resolved), `pg_config --bindir`, and /usr/lib/postgresql/*/bin (newest major version
// first). The caller checks what it needs of each.
func BinDirCandidates(program string) []string {
	var candidates []string
	if dir := os.Getenv("TENANTCTL_PG_BINDIR"); dir != "" {
		candidates = append(candidates, dir)
	}
	if p, err := exec.LookPath(program); err == nil {
		if resolved, err := filepath.EvalSymlinks(p); err == nil {
			p = resolved
		}
		candidates = append(candidates, filepath.Dir(p))
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	return append(candidates, debianBinDirs()...)
}

func hasServerBinaries(dir string) bool {
	for _, name := range serverBinaries {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// debianBinDirs lists /usr/lib/postgresql/<major>/bin, newest major first.
func debianBinDirs() []string {
	matches, _ := filepath.Glob(debianGlob)
	major := func(p string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		return n
	}
	sort.Slice(matches, func(i, j int) bool { return major(matches[i]) > major(matches[j]) })
	return matches
}

// debianGlob is where Debian and Ubuntu install server binaries, one directory per major.
var debianGlob = "/usr/lib/postgresql/*/bin"
