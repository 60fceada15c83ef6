package fleet

import (
	"fmt"
	"sort"
	"strings"
)

// PartialError is what a fleet operation returns when some tenants failed or were not
// started. Every tenant's outcome is also in the operation's result, so a rerun picks up
// exactly what is left.
type PartialError struct {
	// Succeeded are the slugs of the tenants done successfully in this run.
	Succeeded []string
	// Failed maps each failed tenant's slug to its error.
	Failed map[string]error
	// Skipped are the slugs of the tenants not started because the run stopped early.
	Skipped []string
	// Reason is why the run stopped early (an operation's sentinel or a context error),
	// or nil when every tenant was tried.
	Reason error
}

// Fail records a failed tenant.
func (e *PartialError) Fail(slug string, err error) {
	if e.Failed == nil {
		e.Failed = map[string]error{}
	}
	e.Failed[slug] = err
}

// Err returns e when any tenant failed or was skipped, else nil.
func (e *PartialError) Err() error {
	if len(e.Failed) == 0 && len(e.Skipped) == 0 {
		return nil
	}
	return e
}

func (e *PartialError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d tenant(s) failed", len(e.Failed))
	if len(e.Failed) > 0 {
		slugs := make([]string, 0, len(e.Failed))
		for s := range e.Failed {
			slugs = append(slugs, s)
		}
		sort.Strings(slugs)
		parts := make([]string, len(slugs))
		for i, s := range slugs {
			parts[i] = s + ": " + e.Failed[s].Error()
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, "; "))
	}
	if len(e.Skipped) > 0 {
		fmt.Fprintf(&b, ", %d not started", len(e.Skipped))
	}
	if e.Reason != nil {
		fmt.Fprintf(&b, ": %v", e.Reason)
	}
	return b.String()
}

// Unwrap returns the reason the run stopped early, if any, and every tenant's error, so
// errors.Is finds a sentinel in either.
func (e *PartialError) Unwrap() []error {
	out := make([]error, 0, len(e.Failed)+1)
	if e.Reason != nil {
		out = append(out, e.Reason)
	}
	for _, err := range e.Failed {
		out = append(out, err)
	}
	return out
}
