package fleet

import "github.com/tenantctl/tenantctl/internal/progress"

// Progress is how every fleet operation reports progress: the operation calls it once,
// when it knows how many tenants it will visit, and tells the returned Reporter about
// each one as it finishes. A nil Progress (or one returning nil) reports nothing, so
// the caller never has to count the tenants first.
type Progress func(total int) progress.Reporter

// Start returns the Reporter for total items; never nil.
func (p Progress) Start(total int) progress.Reporter {
	if p != nil {
		if r := p(total); r != nil {
			return r
		}
	}
	return nopReporter{}
}

type nopReporter struct{}

func (nopReporter) Done(string, error, ...any) {}
func (nopReporter) Close()                     {}
