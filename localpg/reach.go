package localpg

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Unreachable returns, when this process would run the server as the postgres OS user
// (it runs as root) and that user cannot reach dir, the parent directory that stops it;
// otherwise "".
func Unreachable(dir string) (string, error) {
	runAs, err := serverCredential()
	if err != nil || runAs == nil {
		return "", err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return blockingParent(abs, int(runAs.Uid)), nil
}

// SharedRoot is where [SharedDir] puts cluster data: a directory per user under
// /var/tmp, which survives reboots (unlike /tmp on many systems) and which every user
// can reach.
func SharedRoot() string { return fmt.Sprintf("/var/tmp/tenantctl-%d", os.Geteuid()) }

// SharedDir returns a directory the postgres OS user can reach, for clusters that were
// asked to live at dir: SharedRoot()/<base name of dir>-<hash of dir>, so two projects
// never share one. It creates SharedRoot with mode 0711 (searchable, not listable) and
// refuses one that is a symlink, belongs to another user or is writable by others.
func SharedDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	root := SharedRoot()
	if err := os.Mkdir(root, 0o711); err != nil && !os.IsExist(err) {
		return "", fmt.Errorf("create %s: %w", root, err)
	}
	fi, err := os.Lstat(root)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Geteuid() || fi.Mode().Perm()&0o022 != 0 {
		return "", &SharedRootError{Root: root}
	}
	if err := os.Chmod(root, 0o711); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(root, filepath.Base(abs)+"-"+hex.EncodeToString(sum[:4])), nil
}
