package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// FileName is the name of a customer's report file in a delivery directory.
func FileName(slug, format string) string { return slug + "-report" + Extension(format) }

// WriteFile renders r to path atomically (a temporary file renamed into place), so a
// reader of a file share never sees half a report.
func WriteFile(path string, r Report, format string) error {
	var b bytes.Buffer
	if err := Render(&b, r, format); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o640); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Deliver writes one report per tenant into dir (created if missing) and returns how
// many it wrote. A tenant whose report fails does not stop the others; the error lists
// every failure.
func Deliver(ctx context.Context, wh Beginner, spec *Spec, tenants []Tenant, dir, format string) (int, error) {
	if err := CheckFormat(format); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return 0, fmt.Errorf("report directory: %w", err)
	}
	written := 0
	var errs []error
	for _, t := range tenants {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		r, err := Build(ctx, wh, spec, t)
		if err == nil {
			err = WriteFile(filepath.Join(dir, FileName(t.Slug, format)), r, format)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.Slug, err))
			continue
		}
		written++
	}
	return written, errors.Join(errs...)
}
