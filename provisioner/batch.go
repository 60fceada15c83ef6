package provisioner

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/secret"
)

// BatchRow is one line of a batch onboarding file.
type BatchRow struct {
	// Line is the row's line number in the file (1-based, the header counted).
	Line    int
	Options CreateOptions
}

// batchColumns are the columns of a batch file, in order; the first three are required.
var batchColumns = []string{"slug", "name", "domain", "server", "labels", "contact"}

// ParseBatch reads a CSV batch file: slug,name,domain[,server,labels,contact], an
// optional header line naming those columns, labels as k=v pairs separated by ';'.
// A file that is not such a CSV (syntax, a wrong number of columns, no rows) is invalid
// input as a whole; the values of a row are checked when it is created, so one bad row
// fails alone.
func ParseBatch(r io.Reader) ([]BatchRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	var rows []BatchRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, validate.Errorf("malformed batch file: %v", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rows) == 0 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "slug") {
			for i, col := range rec {
				if i >= len(batchColumns) || !strings.EqualFold(strings.TrimSpace(col), batchColumns[i]) {
					return nil, validate.Errorf("malformed batch file: line %d: header column %d is %q; the columns are %s",
						line, i+1, col, strings.Join(batchColumns, ","))
				}
			}
			continue
		}
		if len(rec) < 3 || len(rec) > len(batchColumns) {
			return nil, validate.Errorf("malformed batch file: line %d has %d columns; expected slug,name,domain[,server,labels,contact]", line, len(rec))
		}
		for len(rec) < len(batchColumns) {
			rec = append(rec, "")
		}
		o := CreateOptions{Slug: strings.TrimSpace(rec[0]), Name: strings.TrimSpace(rec[1]), Domain: strings.TrimSpace(rec[2]),
			Server: strings.TrimSpace(rec[3]), ContactEmail: strings.TrimSpace(rec[5])}
		for _, l := range strings.Split(rec[4], ";") {
			if l = strings.TrimSpace(l); l != "" {
				o.Labels = append(o.Labels, l)
			}
		}
		rows = append(rows, BatchRow{Line: line, Options: o})
	}
	if len(rows) == 0 {
		return nil, validate.Errorf("malformed batch file: no tenant rows")
	}
	return rows, nil
}

// BatchResult is the outcome of one row.
type BatchResult struct {
	Line   int             `json:"line"`
	Slug   string          `json:"slug"`
	OK     bool            `json:"ok"`
	Tenant *catalog.Tenant `json:"tenant,omitempty"`
	Error  string          `json:"error,omitempty"`
	// Invalid is true when the row's values were refused (nothing was made for it).
	Invalid bool `json:"invalid,omitempty"`
}

// BatchError is returned by [Provisioner.CreateBatch] when some rows failed; the others
// were created.
type BatchError struct {
	Failed []BatchResult
}

func (e *BatchError) Error() string {
	parts := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		parts[i] = fmt.Sprintf("line %d (%s)", f.Line, f.Slug)
	}
	return fmt.Sprintf("%d row(s) failed: %s", len(e.Failed), strings.Join(parts, ", "))
}

// CreateBatch creates the tenants of a batch, concurrency at a time (each from the warm
// pool when its server has a spare). Every row is attempted; a row that fails does not
// stop the others. done, when set, is called after each row. The results are in file
// order; the error is a *BatchError naming the failed rows.
func (p *Provisioner) CreateBatch(ctx context.Context, rows []BatchRow, concurrency int, done func(BatchResult)) ([]BatchResult, error) {
	if concurrency < 1 {
		concurrency = 1
	}
	results := make([]BatchResult, len(rows))
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i, r := range rows {
		if ctx.Err() != nil {
			results[i] = BatchResult{Line: r.Line, Slug: r.Options.Slug, Error: "not started: " + ctx.Err().Error()}
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			res := BatchResult{Line: r.Line, Slug: r.Options.Slug}
			t, err := p.Create(ctx, r.Options)
			if err != nil {
				res.Error = secret.Scrub(err.Error())
				res.Invalid = errors.Is(err, validate.ErrInvalid)
			} else {
				res.OK, res.Tenant = true, &t
			}
			results[i] = res
			if done != nil {
				done(res)
			}
		})
	}
	wg.Wait()
	var failed []BatchResult
	for _, r := range results {
		if !r.OK {
			failed = append(failed, r)
		}
	}
	if len(failed) > 0 {
		return results, &BatchError{Failed: failed}
	}
	return results, nil
}
