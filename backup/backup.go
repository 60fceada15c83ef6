package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// Env is what the package's operations share: the catalog, and a way to reach a
// registered server as its admin (for pg_stat_archiver).
type Env struct {
	Store  *catalog.Store
	Server func(ctx context.Context, name string) (*tenantdb.Server, error)
	Log    hclog.Logger
}

func (e Env) log() hclog.Logger {
	if e.Log == nil {
		return hclog.NewNullLogger()
	}
	return e.Log
}

// Backup types.
const (
	TypeFull = "full"
	TypeDiff = "diff"
	TypeIncr = "incr"
)

// Install writes the stanza's configuration file (mode 0640, owned like the server's
// data directory) and makes its directory and the repository. It is what a superuser
// does by hand on a production host; `dev up` and the tests do it this way.
func Install(s Settings) error {
	for _, dir := range []string{filepath.Dir(s.ConfigPath), s.RepoPath} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
		if err := Chown(s, dir); err != nil {
			return err
		}
	}
	tmp := s.ConfigPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(Conf(s)), 0o640); err != nil {
		return err
	}
	if err := Chown(s, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, s.ConfigPath)
}

// Check creates the stanza in the repository when it is missing (stanza-create does
// nothing to a valid one) and runs `pgbackrest check`, which has the server archive a
// WAL segment through its archive_command and waits for it in the repository.
func Check(ctx context.Context, s Settings) error {
	if _, err := pgbackrest(ctx, s, "stanza-create"); err != nil {
		return err
	}
	_, err := pgbackrest(ctx, s, "check")
	return err
}

// RunOptions describe a backup run.
type RunOptions struct {
	Env
	// Server limits the run to one server; empty backs up every server with settings.
	Server string
	// Type is full, diff or incr; empty means incr (pgBackRest makes a full backup
	// when there is none to build on).
	Type string
}

// Validate checks the options without touching anything.
func (o *RunOptions) Validate() error {
	switch o.Type {
	case "":
		o.Type = TypeIncr
	case TypeFull, TypeDiff, TypeIncr:
	default:
		return validate.Field("type", o.Type, "use full, diff or incr")
	}
	if o.Server != "" {
		return validate.ServerName(o.Server)
	}
	return nil
}

// RunResult is one server's backup.
type RunResult struct {
	Server   string        `json:"server"`
	Type     string        `json:"type"`
	Label    string        `json:"label,omitempty"`
	Duration time.Duration `json:"duration_ns"`
	Error    string        `json:"error,omitempty"`
}

// Run backs up the servers, one after the other, and records each repository's
// backups in the catalog. One server's failure does not stop the others; the error
// joins them all.
func Run(ctx context.Context, o RunOptions) ([]RunResult, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	all, err := settingsFor(ctx, o.Store, o.Server)
	if err != nil {
		return nil, err
	}
	var out []RunResult
	var errs []error
	for _, s := range all {
		start := time.Now()
		r := RunResult{Server: s.Server, Type: o.Type}
		_, err := pgbackrest(ctx, s, "backup", "--type="+o.Type)
		if err == nil {
			var in Info
			if in, err = Refresh(ctx, o.Store, s); err == nil && len(in.Backups) > 0 {
				r.Label = in.Backups[len(in.Backups)-1].Label
			}
		}
		r.Duration = time.Since(start)
		if err != nil {
			r.Error = errText(err)
			errs = append(errs, fmt.Errorf("back up server %s: %w", s.Server, err))
			o.log().Error("backup failed", "server", s.Server, "error", r.Error)
		} else {
			o.log().Info("backup done", "server", s.Server, "type", o.Type, "label", r.Label, "elapsed", r.Duration.Round(time.Millisecond))
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// settingsFor returns one server's settings, or every server's.
func settingsFor(ctx context.Context, st *catalog.Store, server string) ([]Settings, error) {
	if server != "" {
		if _, err := st.GetServer(ctx, server); err != nil {
			return nil, err
		}
		s, err := st.GetBackupSettings(ctx, server)
		if err != nil {
			return nil, validate.Invalid(err)
		}
		return []Settings{s}, nil
	}
	return st.ListBackupSettings(ctx)
}

// Refresh reads the stanza's repository and records its backups in the catalog.
func Refresh(ctx context.Context, st *catalog.Store, s Settings) (Info, error) {
	in, err := ReadInfo(ctx, s)
	if err != nil {
		return in, err
	}
	rows := make([]catalog.ServerBackup, 0, len(in.Backups))
	for _, b := range in.Backups {
		rows = append(rows, catalog.ServerBackup{Server: s.Server, Label: b.Label, Type: b.Type, StartedAt: b.Start, StoppedAt: b.Stop, SizeBytes: b.SizeBytes})
	}
	return in, st.SyncServerBackups(ctx, s.Server, rows)
}

// Archiver is a server's pg_stat_archiver: how WAL archiving goes.
type Archiver struct {
	ArchivedCount    int64      `json:"archived_count"`
	LastArchivedWAL  string     `json:"last_archived_wal,omitempty"`
	LastArchivedTime *time.Time `json:"last_archived_time,omitempty"`
	FailedCount      int64      `json:"failed_count"`
	LastFailedWAL    string     `json:"last_failed_wal,omitempty"`
	LastFailedTime   *time.Time `json:"last_failed_time,omitempty"`
	// Failing is true when the last attempt failed (a failure newer than the last
	// success).
	Failing bool `json:"failing"`
}

// ReadArchiver reads pg_stat_archiver on a server (readable by every role).
func ReadArchiver(ctx context.Context, srv *tenantdb.Server) (Archiver, error) {
	conn, err := srv.Connect(ctx, "postgres")
	if err != nil {
		return Archiver{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var a Archiver
	err = conn.QueryRow(ctx, `SELECT archived_count, coalesce(last_archived_wal, ''), last_archived_time,
		failed_count, coalesce(last_failed_wal, ''), last_failed_time FROM pg_stat_archiver`).
		Scan(&a.ArchivedCount, &a.LastArchivedWAL, &a.LastArchivedTime, &a.FailedCount, &a.LastFailedWAL, &a.LastFailedTime)
	if err != nil {
		return a, fmt.Errorf("read pg_stat_archiver on %s: %w", srv.Name, err)
	}
	a.Failing = a.LastFailedTime != nil && (a.LastArchivedTime == nil || a.LastFailedTime.After(*a.LastArchivedTime))
	return a, nil
}

// Window is the span of times a server's tenants can be restored to: from the end of
// the oldest backup (the first consistent point; a backup cannot be restored to a time
// while it was being taken) to the newest WAL archived.
type Window struct {
	Server string    `json:"server"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
}

// Contains reports whether t lies in the window.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.From) && !t.After(w.To) }

// ServerReport is one server's backups, archiver and window, as [List] reports it.
type ServerReport struct {
	Server   string   `json:"server"`
	Stanza   string   `json:"stanza"`
	Status   string   `json:"status"`
	Backups  []Backup `json:"backups"`
	Archiver Archiver `json:"archiver"`
	Window   *Window  `json:"window,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// List reads each server's repository (one server, or every server with settings),
// records its backups in the catalog and works out the restorable window.
func List(ctx context.Context, e Env, server string) ([]ServerReport, error) {
	all, err := settingsFor(ctx, e.Store, server)
	if err != nil {
		return nil, err
	}
	out := make([]ServerReport, 0, len(all))
	var errs []error
	for _, s := range all {
		r := ServerReport{Server: s.Server, Stanza: s.Stanza}
		w, in, a, err := window(ctx, e, s)
		r.Status, r.Backups, r.Archiver = in.Status, in.Backups, a
		if err == nil {
			r.Window = &w
		} else if !errors.Is(err, ErrNoBackups) {
			r.Error = errText(err)
			errs = append(errs, fmt.Errorf("server %s: %w", s.Server, err))
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Server < out[j].Server })
	return out, errors.Join(errs...)
}

// ServerWindow returns a server's restorable window ([ErrNoBackups] without a backup).
func ServerWindow(ctx context.Context, e Env, server string) (Window, error) {
	s, err := e.Store.GetBackupSettings(ctx, server)
	if err != nil {
		return Window{}, err
	}
	w, _, _, err := window(ctx, e, s)
	return w, err
}

// TenantWindow is the part of the server's window a database created at created can be
// restored to: from the end of the first backup that began after it existed. pgBackRest
// picks the backup to start from by its stop time in whole seconds, so the window opens
// on the second after that stop. ok is false when no backup holds the database yet.
func TenantWindow(ctx context.Context, e Env, server string, created time.Time) (srv, tenant Window, ok bool, err error) {
	s, err := e.Store.GetBackupSettings(ctx, server)
	if err != nil {
		return Window{}, Window{}, false, err
	}
	w, in, _, err := window(ctx, e, s)
	if err != nil {
		return Window{}, Window{}, false, err
	}
	var first *Backup
	for i, b := range in.Backups {
		if b.Start.After(created) && (first == nil || b.Stop.Before(first.Stop)) {
			first = &in.Backups[i]
		}
	}
	if first == nil {
		return w, Window{}, false, nil
	}
	t := Window{Server: w.Server, From: first.Stop.Truncate(time.Second).Add(time.Second), To: w.To}
	if t.From.Before(w.From) {
		t.From = w.From
	}
	return w, t, true, nil
}

func window(ctx context.Context, e Env, s Settings) (Window, Info, Archiver, error) {
	in, err := Refresh(ctx, e.Store, s)
	if err != nil {
		return Window{}, in, Archiver{}, err
	}
	srv, err := e.Server(ctx, s.Server)
	if err != nil {
		return Window{}, in, Archiver{}, err
	}
	a, err := ReadArchiver(ctx, srv)
	if err != nil {
		return Window{}, in, a, err
	}
	if len(in.Backups) == 0 {
		return Window{}, in, a, fmt.Errorf("server %s: %w", s.Server, ErrNoBackups)
	}
	w := Window{Server: s.Server, From: in.Backups[0].Stop, To: in.Backups[len(in.Backups)-1].Stop}
	for _, b := range in.Backups {
		if b.Stop.Before(w.From) {
			w.From = b.Stop
		}
		if b.Stop.After(w.To) {
			w.To = b.Stop
		}
	}
	if a.LastArchivedTime != nil && a.LastArchivedTime.After(w.To) {
		w.To = *a.LastArchivedTime
	}
	return w, in, a, nil
}

// WaitCovered waits until server's restorable window reaches t, polling the archiver
// every 200 ms, and returns the window. pgbackrest check returns once the switched WAL
// segment is in the repository, which can be before the server's archiver has recorded
// it (pg_stat_archiver is updated after archive_command returns), so a restore to a
// time just before the check can otherwise find it a second past the window's end.
// It gives up with the last window read when ctx ends or after timeout.
func WaitCovered(ctx context.Context, e Env, server string, t time.Time, timeout time.Duration) (Window, error) {
	deadline := time.Now().Add(timeout)
	for {
		w, err := ServerWindow(ctx, e, server)
		if err != nil || !w.To.Before(t) || time.Now().After(deadline) {
			return w, err
		}
		select {
		case <-ctx.Done():
			return w, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
