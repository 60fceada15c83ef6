package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/tenantctl/tenantctl/secret"
)

// Program returns the pgbackrest program: $TENANTCTL_PGBACKREST, else pgbackrest on the
// PATH, else /usr/bin/pgbackrest (Debian's package).
func Program() (string, error) {
	if p := os.Getenv("TENANTCTL_PGBACKREST"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("pgbackrest"); err == nil {
		return p, nil
	}
	if fi, err := os.Stat("/usr/bin/pgbackrest"); err == nil && !fi.IsDir() {
		return "/usr/bin/pgbackrest", nil
	}
	return "", ErrNoPgBackRest
}

// Installed reports whether pgbackrest can be found.
func Installed() bool { _, err := Program(); return err == nil }

// ownerOf returns the credential of the owner of path when tenantctl runs as root (so
// pgbackrest runs as the server's OS user, the way archive-push does), nil otherwise.
func ownerOf(path string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("the server's data directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil, nil
	}
	return &syscall.Credential{Uid: st.Uid, Gid: st.Gid, Groups: []uint32{}}, nil
}

// Chown gives path to the owner of the server's data directory when tenantctl runs as
// root (the scratch directory of a restore, a configuration directory), so pgbackrest
// running as that user can write there.
func Chown(s Settings, path string) error {
	cred, err := ownerOf(s.PgPath)
	if err != nil || cred == nil {
		return err
	}
	return os.Chown(path, int(cred.Uid), int(cred.Gid))
}

// pgbackrest runs one pgbackrest command for the stanza and returns its standard output.
func pgbackrest(ctx context.Context, s Settings, args ...string) ([]byte, error) {
	prog, err := Program()
	if err != nil {
		return nil, err
	}
	full := append([]string{"--config=" + s.ConfigPath, "--stanza=" + s.Stanza}, args...)
	cmd := exec.CommandContext(ctx, prog, full...)
	env := []string{"LC_ALL=C", "PATH=" + os.Getenv("PATH")}
	if s.PgPassfile != "" {
		env = append(env, "PGPASSFILE="+s.PgPassfile)
	}
	cmd.Env = env
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if cmd.SysProcAttr.Credential, err = ownerOf(s.PgPath); err != nil {
		return nil, err
	}
	out, msg, err := runOutput(cmd)
	if err != nil {
		return out, &CommandError{Args: args, Err: err, Output: msg}
	}
	return out, nil
}

// runOutput runs cmd and returns its standard output and, when it fails, the tail of
// what it wrote (standard error, then standard output; at most 4,000 bytes, secrets
// scrubbed) for the error.
func runOutput(cmd *exec.Cmd) (out []byte, msg string, err error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String() + "\n" + stdout.String())
		if len(msg) > 4000 {
			msg = msg[len(msg)-4000:]
		}
		return stdout.Bytes(), secret.Scrub(msg), err
	}
	return stdout.Bytes(), "", nil
}

// Backup is one backup in a stanza's repository.
type Backup struct {
	Label     string    `json:"label"`
	Type      string    `json:"type"`
	Start     time.Time `json:"start"`
	Stop      time.Time `json:"stop"`
	SizeBytes int64     `json:"size_bytes"`
	// WALStart and WALStop are the first and last WAL segments the backup needs.
	WALStart string `json:"wal_start"`
	WALStop  string `json:"wal_stop"`
}

// Info is what `pgbackrest info` says about a stanza.
type Info struct {
	Stanza  string   `json:"stanza"`
	Status  string   `json:"status"`
	Backups []Backup `json:"backups"`
	// WALMin and WALMax are the oldest and newest WAL segments in the repository.
	WALMin string `json:"wal_min,omitempty"`
	WALMax string `json:"wal_max,omitempty"`
}

type infoJSON struct {
	Name    string `json:"name"`
	Archive []struct {
		Min *string `json:"min"`
		Max *string `json:"max"`
	} `json:"archive"`
	Backup []struct {
		Label   string `json:"label"`
		Type    string `json:"type"`
		Archive struct {
			Start *string `json:"start"`
			Stop  *string `json:"stop"`
		} `json:"archive"`
		Info struct {
			Size int64 `json:"size"`
		} `json:"info"`
		Timestamp struct {
			Start int64 `json:"start"`
			Stop  int64 `json:"stop"`
		} `json:"timestamp"`
	} `json:"backup"`
	Status struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
}

// parseInfo reads `pgbackrest info --output=json` for one stanza.
func parseInfo(b []byte) (Info, error) {
	var raw []infoJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return Info{}, fmt.Errorf("read pgbackrest info: %w", err)
	}
	if len(raw) != 1 {
		return Info{}, fmt.Errorf("read pgbackrest info: %d stanzas, want 1", len(raw))
	}
	r := raw[0]
	in := Info{Stanza: r.Name, Status: r.Status.Message}
	for _, a := range r.Archive {
		if a.Min != nil && (in.WALMin == "" || *a.Min < in.WALMin) {
			in.WALMin = *a.Min
		}
		if a.Max != nil && *a.Max > in.WALMax {
			in.WALMax = *a.Max
		}
	}
	for _, bk := range r.Backup {
		x := Backup{Label: bk.Label, Type: bk.Type, Start: time.Unix(bk.Timestamp.Start, 0).UTC(),
			Stop: time.Unix(bk.Timestamp.Stop, 0).UTC(), SizeBytes: bk.Info.Size}
		if bk.Archive.Start != nil {
			x.WALStart = *bk.Archive.Start
		}
		if bk.Archive.Stop != nil {
			x.WALStop = *bk.Archive.Stop
		}
		in.Backups = append(in.Backups, x)
	}
	return in, nil
}

// ReadInfo runs `pgbackrest info` for the stanza.
func ReadInfo(ctx context.Context, s Settings) (Info, error) {
	out, err := pgbackrest(ctx, s, "--output=json", "info")
	if err != nil {
		return Info{}, err
	}
	return parseInfo(out)
}

// errText is err's text with secrets scrubbed, for catalog rows and logs.
func errText(err error) string {
	if err == nil {
		return ""
	}
	var ce *CommandError
	if errors.As(err, &ce) {
		return ce.Error()
	}
	return secret.Scrub(err.Error())
}
