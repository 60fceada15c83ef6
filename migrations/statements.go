package migrations

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
)

// StatementError locates the statement of a migration file that failed.
type StatementError struct {
	// File is the migration file's name.
	File string
	// Line is the line of the file where the statement starts (0: not found).
	Line int
	// Statement is the statement's first line.
	Statement string
	// Position is the character of the statement the server's error points at (0: none).
	Position int
	// ErrorLine is the line of the file Position falls on (0: unknown).
	ErrorLine int
	// Err is goose's error (a *goose.PartialError for Up).
	Err error
}

func (e *StatementError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "migration %s failed", e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, " at line %d", e.Line)
	}
	if e.Statement != "" {
		fmt.Fprintf(&b, " (statement %q", e.Statement)
		if e.ErrorLine > 0 {
			fmt.Fprintf(&b, ", error on line %d", e.ErrorLine)
		} else if e.Position > 0 {
			fmt.Fprintf(&b, ", error at character %d of it", e.Position)
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, ": %s", trimGoose(unwrapGoose(e.Err)).Error())
	if hint := statementHint(e.Err); hint != "" {
		b.WriteString(" (" + hint + ")")
	}
	return b.String()
}

func (e *StatementError) Unwrap() error { return e.Err }

// unwrapGoose is the error inside goose's partial error.
func unwrapGoose(err error) error {
	var pe *goose.PartialError
	if errors.As(err, &pe) && pe.Err != nil {
		return pe.Err
	}
	return err
}

// statementHint says what to do about the errors real-world schemas meet first.
func statementHint(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "unterminated dollar-quoted string"):
		return "a function body holds semicolons: put the statement between -- +goose StatementBegin and -- +goose StatementEnd lines"
	case strings.Contains(msg, "must be member of role"), strings.Contains(msg, "must be owner of"):
		return "migrations run as the tenant's owner role: remove OWNER TO, GRANT and REVOKE statements"
	}
	return ""
}

// lastStatement is a slog handler that keeps the last statement goose logged it was
// about to execute (goose's verbose mode logs each one): when a migration fails, that
// is the statement that failed, which goose's provider does not put in its error.
type lastStatement struct {
	mu   sync.Mutex
	stmt string
}

func (h *lastStatement) Enabled(context.Context, slog.Level) bool { return true }
func (h *lastStatement) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *lastStatement) WithGroup(string) slog.Handler            { return h }
func (h *lastStatement) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "executing statement" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "statement" {
			h.mu.Lock()
			h.stmt = a.Value.String()
			h.mu.Unlock()
			return false
		}
		return true
	})
	return nil
}

func (h *lastStatement) get() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stmt
}

// locate wraps err, an error of goose running the migration file name of fsys whose
// last statement run was stmt, into a *StatementError naming the statement; other
// errors come back as they are.
func locate(fsys fs.FS, name, stmt string, err error) error {
	if err == nil || name == "" {
		return err
	}
	se := &StatementError{File: path.Base(name), Err: err}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		se.Position = int(pgErr.Position)
	}
	lines := codeLines(stmt)
	if len(lines) == 0 {
		return se
	}
	se.Statement = lines[0]
	if b, rerr := fs.ReadFile(fsys, name); rerr == nil {
		se.Line = findStatement(string(b), lines)
	}
	if r := []rune(stmt); se.Line > 0 && se.Position > 0 && se.Position <= len(r) {
		// Lines of the statement from its first code line to the character in error.
		first := strings.Index(stmt, lines[0])
		upto := string(r[:se.Position-1])
		if first >= 0 && first <= len(upto) {
			se.ErrorLine = se.Line + strings.Count(upto[first:], "\n")
		}
	}
	return se
}

// codeLines are the trimmed lines of a statement, blank lines and comment lines left out.
func codeLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
			out = append(out, l)
		}
	}
	return out
}

// findStatement returns the line of src where the statement whose non-empty,
// comment-free lines are lines starts: the first line equal to its first line followed
// by its next lines (comments and blank lines skipped).
func findStatement(src string, lines []string) int {
	file := strings.Split(src, "\n")
	for i, l := range file {
		if strings.TrimSpace(l) != lines[0] {
			continue
		}
		j, k := i+1, 1
		for k < len(lines) && k < 4 && j < len(file) {
			t := strings.TrimSpace(file[j])
			j++
			if t == "" || strings.HasPrefix(t, "--") {
				continue
			}
			if t != lines[k] {
				break
			}
			k++
		}
		if k == len(lines) || k == 4 {
			return i + 1
		}
	}
	return 0
}

// Up applies every pending migration; a failure names the file, line and statement.
func (p *Provider) Up(ctx context.Context) ([]*goose.MigrationResult, error) {
	res, err := p.Provider.Up(ctx)
	return res, p.locatePartial(err)
}

// UpTo applies the pending migrations up to version; a failure names the statement.
func (p *Provider) UpTo(ctx context.Context, version int64) ([]*goose.MigrationResult, error) {
	res, err := p.Provider.UpTo(ctx, version)
	return res, p.locatePartial(err)
}

// DownTo rolls back the migrations above version; a failure names the statement.
func (p *Provider) DownTo(ctx context.Context, version int64) ([]*goose.MigrationResult, error) {
	res, err := p.Provider.DownTo(ctx, version)
	return res, p.locatePartial(err)
}

// Down rolls back the newest migration; a failure names the statement.
func (p *Provider) Down(ctx context.Context) (*goose.MigrationResult, error) {
	res, err := p.Provider.Down(ctx)
	if err != nil && res != nil && res.Source != nil {
		return res, locate(p.fsys, res.Source.Path, p.last.get(), err)
	}
	return res, p.locatePartial(err)
}

func (p *Provider) locatePartial(err error) error {
	var pe *goose.PartialError
	if errors.As(err, &pe) && pe.Failed != nil && pe.Failed.Source != nil {
		return locate(p.fsys, pe.Failed.Source.Path, p.last.get(), err)
	}
	return err
}

// Refused is a statement a tenant migration may not hold: migrations run as the
// tenant's owner role, and tenantctl owns ownership and privileges.
type Refused struct {
	File      string
	Line      int
	Statement string
}

// ErrOwnership marks a migration set holding statements that change ownership or
// privileges (OWNER TO, GRANT, REVOKE, ALTER DEFAULT PRIVILEGES, SET ROLE, SET SESSION
// AUTHORIZATION, REASSIGN OWNED).
var ErrOwnership = errors.New("tenant migrations must not change ownership or privileges")

// OwnershipError lists the refused statements of a migration set.
type OwnershipError struct{ Statements []Refused }

func (e *OwnershipError) Error() string {
	var b strings.Builder
	b.WriteString("tenant migrations must not change ownership or privileges: every object must belong to the tenant's owner role " +
		"and tenantctl grants its application roles itself; remove these statements (pg_dump --no-owner --no-privileges leaves them out):")
	for i, r := range e.Statements {
		if i == 10 {
			fmt.Fprintf(&b, "\n  … and %d more", len(e.Statements)-10)
			break
		}
		fmt.Fprintf(&b, "\n  %s line %d: %s", r.File, r.Line, r.Statement)
	}
	return b.String()
}

func (e *OwnershipError) Unwrap() error { return ErrOwnership }

// ownershipRE matches the start of a statement that changes ownership or privileges.
var ownershipRE = regexp.MustCompile(`(?i)^(GRANT\s|REVOKE\s|ALTER\s+DEFAULT\s+PRIVILEGES\b|REASSIGN\s+OWNED\b|SET\s+(SESSION\s+|LOCAL\s+)?ROLE\b|RESET\s+ROLE\b|SET\s+SESSION\s+AUTHORIZATION\b|ALTER\s+.*\sOWNER\s+TO\s)`)

// CheckOwnership reads every migration file of fsys and refuses (an *OwnershipError,
// which wraps [ErrOwnership]) a set holding statements that would change ownership or
// privileges: the owner of every object must stay the tenant's owner role (the audit
// checks it), and such statements fail anyway when they name roles the tenant's owner
// is not ("must be member of role postgres"). Lines inside dollar-quoted bodies count
// too, which errs on the side of refusing.
func CheckOwnership(fsys fs.FS) error {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return err
	}
	var refused []Refused
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", name, err)
		}
		refused = append(refused, ownershipStatements(path.Base(name), string(b))...)
	}
	if len(refused) > 0 {
		return &OwnershipError{Statements: refused}
	}
	return nil
}

func ownershipStatements(name, src string) []Refused {
	var out []Refused
	sc := bufio.NewScanner(strings.NewReader(src))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	n := 0
	for sc.Scan() {
		n++
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "--") {
			continue
		}
		if ownershipRE.MatchString(l) {
			out = append(out, Refused{File: name, Line: n, Statement: l})
		}
	}
	return out
}
