// Package progress reports the progress of a fleet operation: a progress bar when
// stderr is a terminal, one log line per finished item otherwise.
//
// It only reports; it never decides what is done or failed.
package progress

import (
	"io"
	"strconv"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/schollz/progressbar/v3"
)

// Reporter is told about each finished item of a fleet operation. It is safe for
// concurrent use.
type Reporter interface {
	// Done records one finished item; err is nil when it succeeded. fields are extra
	// key/value pairs for the log line.
	Done(item string, err error, fields ...any)
	// Close ends the report (clears the bar).
	Close()
}

// New returns a bar on w when terminal is true, else a Reporter that logs every item
// with log.
func New(w io.Writer, terminal bool, total int, label string, log hclog.Logger) Reporter {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if !terminal || total <= 0 {
		return &logReporter{log: log, label: label, total: total}
	}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
	)
	return &barReporter{bar: bar, log: log}
}

type logReporter struct {
	log   hclog.Logger
	label string
	total int
	mu    sync.Mutex
	done  int
}

func (r *logReporter) Done(item string, err error, fields ...any) {
	r.mu.Lock()
	r.done++
	n := r.done
	r.mu.Unlock()
	args := append([]any{"item", item, "progress", progressText(n, r.total)}, fields...)
	if err != nil {
		r.log.Error(r.label+" failed", append(args, "error", err)...)
		return
	}
	r.log.Info(r.label+" done", args...)
}

func (r *logReporter) Close() {}

type barReporter struct {
	bar *progressbar.ProgressBar
	log hclog.Logger
}

func (r *barReporter) Done(item string, err error, fields ...any) {
	if err != nil {
		// Failures stay visible above the bar.
		_ = r.bar.Clear()
		r.log.Error("failed", append([]any{"item", item, "error", err}, fields...)...)
	}
	_ = r.bar.Add(1)
}

func (r *barReporter) Close() { _ = r.bar.Finish() }

func progressText(n, total int) string {
	if total <= 0 {
		return strconv.Itoa(n)
	}
	return strconv.Itoa(n) + "/" + strconv.Itoa(total)
}
