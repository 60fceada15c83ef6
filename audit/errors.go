package audit

import (
	"errors"
	"fmt"
)

// ErrViolations is matched (errors.Is) by the error [Report.Err] returns when an audit
// found violations.
var ErrViolations = errors.New("isolation violations found")

// ViolationsError is returned by [Report.Err] when a run found violations.
type ViolationsError struct {
	Violations int
	Critical   int
}

func (e *ViolationsError) Error() string {
	return fmt.Sprintf("audit found %d violations (%d critical)", e.Violations, e.Critical)
}

// Is makes errors.Is(err, ErrViolations) true.
func (e *ViolationsError) Is(target error) bool { return target == ErrViolations }

// ErrRunNotFound is returned by [RunViolations] for an id the history does not hold.
var ErrRunNotFound = errors.New("no such audit run")
