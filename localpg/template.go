package localpg

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/secret"
)

// templateFormat changes when what a template holds, or how it is made, changes: old
// templates are then ignored (their key differs).
const templateFormat = "1"

// templateManifest is the file a finished template holds beside its data directory.
const templateManifest = "template.json"

// TemplateDirPrefix starts the name of every initdb template directory, under
// os.TempDir() (see [Options.Template]); removing them is always safe.
const TemplateDirPrefix = "tenantctl-initdb-"

type manifest struct {
	BinDir string `json:"bin_dir"`
	Args   string `json:"initdb_args"`
	Files  int    `json:"files"`
	Bytes  int64  `json:"bytes"`
}

// initdbArgs are initdb's arguments but the data directory and the password file: the
// same for a template and for a cluster made without one.
func (c *Cluster) initdbArgs() []string {
	return []string{"-U", c.User, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"}
}

// initFromTemplate fills data (which must not exist) with a copy of the cached initdb
// template for the cluster's binaries and initdb arguments, made on first use, then makes
// the copy the cluster's own: a new system identifier (copies would otherwise share the
// template's, and servers are told apart by it), fresh write-ahead log, and the
// cluster's own superuser password.
func (c *Cluster) initFromTemplate(ctx context.Context, data string) error {
	tmpl, err := c.template(ctx)
	if err != nil {
		return fmt.Errorf("initdb template: %w", err)
	}
	if err := copyData(filepath.Join(tmpl, "data"), data); err != nil {
		return fmt.Errorf("copy initdb template %s (remove it to have it made again): %w", tmpl, err)
	}
	if err := newSystemIdentifier(filepath.Join(data, "global", "pg_control")); err != nil {
		return fmt.Errorf("copy of initdb template %s: %w", tmpl, err)
	}
	if err := c.chownTree(data); err != nil {
		return err
	}
	// pg_resetwal writes the write-ahead log again from pg_control (the template's was not
	// copied): its first page names the new system identifier.
	if _, err := c.run(ctx, "pg_resetwal", "-D", data); err != nil {
		return fmt.Errorf("copy of initdb template %s: %w", tmpl, err)
	}
	// The superuser's password is a random 256-bit key (randomPassword), which
	// secret.KeyVerifier stores with one PBKDF2 iteration: every login of a test (and of
	// the tenantctl it runs) as the superuser then spares the client 4,096 iterations
	// (race-instrumented in a test binary: in audit's, 24 s of its 54 s of CPU).
	verifier, err := secret.KeyVerifier(c.Password)
	if err != nil {
		return err
	}
	// The password is set by a single-user backend, which reads the statement on its
	// standard input (never a command line) and logs no statements; it is given as a
	// SCRAM verifier, so the server never sees the password itself.
	out, err := c.runInput(ctx, "ALTER ROLE "+pgx.Identifier{c.User}.Sanitize()+" PASSWORD '"+verifier+"'\n",
		"postgres", "--single", "-D", data, "-F", "-c", "log_min_messages=warning", "-c", "log_statement=none", "postgres")
	if err != nil {
		return fmt.Errorf("set the superuser password: %w", err)
	}
	if bytes.Contains(out, []byte("ERROR:")) || bytes.Contains(out, []byte("FATAL:")) {
		return fmt.Errorf("set the superuser password: %s", strings.TrimSpace(string(out)))
	}
	return nil
}

// template returns the directory of the cached initdb result for the cluster's binaries
// and initdb arguments, making it first when there is none. It is made once per machine
// (per OS user): under a file lock, since several test binaries start clusters at once,
// in a temporary directory renamed into place when finished.
func (c *Cluster) template(ctx context.Context) (string, error) {
	key, err := c.templateKey()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(os.TempDir(), TemplateDirPrefix+key)
	if templateComplete(dir) {
		return dir, nil
	}
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := flock(ctx, lock); err != nil {
		return "", err
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	if templateComplete(dir) { // made by another process while we waited
		return dir, nil
	}
	// Incomplete (files removed by a /tmp cleaner, say): make it again.
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(os.TempDir(), TemplateDirPrefix+key+".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o700); err != nil {
		return "", err
	}
	if err := c.chownTree(tmp); err != nil {
		return "", err
	}
	data := filepath.Join(tmp, "data")
	pwfile := filepath.Join(tmp, "pwfile")
	// The template's own password is thrown away: every copy gets its cluster's.
	if err := os.WriteFile(pwfile, []byte(randomPassword()+"\n"), 0o600); err != nil {
		return "", err
	}
	if err := c.chownTree(pwfile); err != nil {
		return "", err
	}
	args := append([]string{"-D", data, "--pwfile", pwfile}, c.initdbArgs()...)
	if _, err := c.run(ctx, "initdb", args...); err != nil {
		return "", fmt.Errorf("initdb: %w", err)
	}
	if err := os.Remove(pwfile); err != nil {
		return "", err
	}
	m := manifest{BinDir: c.BinDir, Args: strings.Join(c.initdbArgs(), " ")}
	if m.Files, m.Bytes, err = countData(data); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, templateManifest), b, 0o600); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// templateKey names the template: a hash of what initdb's result depends on (the
// binaries, by path, size and modification time, so an upgrade of the package makes
// a new one; initdb's arguments; the OS user running the tests; the server's user).
func (c *Cluster) templateKey() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "format %s\nuid %d\n", templateFormat, os.Geteuid())
	if c.runAs != nil {
		fmt.Fprintf(h, "runas %d:%d\n", c.runAs.Uid, c.runAs.Gid)
	}
	bin, err := filepath.EvalSymlinks(c.BinDir)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "bindir %s\n", bin)
	for _, name := range []string{"initdb", "postgres", "pg_resetwal"} {
		fi, err := os.Stat(filepath.Join(bin, name))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d %d\n", name, fi.Size(), fi.ModTime().UnixNano())
	}
	fmt.Fprintf(h, "args %q\n", c.initdbArgs())
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// templateComplete reports whether dir holds a finished template with every file its
// manifest counted.
func templateComplete(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, templateManifest))
	if err != nil {
		return false
	}
	var m manifest
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	files, size, err := countData(filepath.Join(dir, "data"))
	return err == nil && files == m.Files && size == m.Bytes
}

// countData counts the regular files of a data directory and their bytes.
func countData(data string) (files int, size int64, err error) {
	err = filepath.WalkDir(data, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		files++
		size += fi.Size()
		return nil
	})
	return files, size, err
}

// flock takes an exclusive lock on f, giving up when ctx ends.
func flock(ctx context.Context, f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lock %s: %w", f.Name(), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// copyData copies the data directory src to dst (which must not exist), keeping the
// modes (0700 directories, 0600 files). The write-ahead log's segments are left out:
// pg_resetwal writes the log again.
func copyData(src, dst string) error {
	wal := filepath.Join(src, "pg_wal")
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, fi.Mode().Perm()); err != nil {
				return err
			}
			return os.Chmod(target, fi.Mode().Perm()) // past the umask
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: not a regular file", p)
		case filepath.Dir(p) == wal:
			return nil
		}
		return copyFile(p, target, fi.Mode().Perm())
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// newSystemIdentifier gives the cluster whose pg_control is file a new system
// identifier, made the way initdb makes one (seconds since the epoch in the high 32
// bits), with random low bits. The identifier is the file's first 8 bytes; the CRC-32C
// of everything before it closes the control data, wherever the server's version puts
// it: it is found by matching, and the file refused when no offset matches.
func newSystemIdentifier(file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	table := crc32.MakeTable(crc32.Castagnoli)
	off := -1
	for i := 8; i+4 <= len(b) && i <= 1024; i += 4 {
		if crc32.Checksum(b[:i], table) == binary.NativeEndian.Uint32(b[i:]) {
			off = i
			break
		}
	}
	if off < 0 {
		return fmt.Errorf("%s: no control data checksum found", file)
	}
	var low [4]byte
	if _, err := rand.Read(low[:]); err != nil {
		return err
	}
	id := uint64(time.Now().Unix())<<32 | uint64(binary.NativeEndian.Uint32(low[:]))
	binary.NativeEndian.PutUint64(b[0:8], id)
	binary.NativeEndian.PutUint32(b[off:], crc32.Checksum(b[:off], table))
	fi, err := os.Stat(file)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, fi.Mode().Perm())
}
