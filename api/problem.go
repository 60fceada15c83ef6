package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
)

// Problem is an RFC 9457 problem details body (application/problem+json).
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Field names the request field that was wrong, for a 400.
	Field string `json:"field,omitempty"`
}

func (p *Problem) Error() string { return p.Detail }

// problemType is the base of the problem type URIs this API uses (a URN: it names the
// kind of problem, it is not a page to fetch).
const problemType = "urn:tenantctl:problem:"

func newProblem(status int, kind, detail string) *Problem {
	return &Problem{Type: problemType + kind, Title: http.StatusText(status), Status: status, Detail: detail}
}

// fieldError is bad input in one named field.
func fieldError(field string, err error) *Problem {
	p := newProblem(http.StatusBadRequest, "invalid-input", err.Error())
	p.Field = field
	return p
}

// toProblem maps a library error to its HTTP status. Unexpected errors become a 500
// whose detail is scrubbed of secrets.
func toProblem(err error) *Problem {
	var p *Problem
	switch {
	case errors.As(err, &p):
		return p
	case errors.Is(err, catalog.ErrTenantNotFound), errors.Is(err, catalog.ErrServerNotFound),
		errors.Is(err, catalog.ErrNoGrant), errors.Is(err, catalog.ErrOperatorNotFound),
		errors.Is(err, audit.ErrRunNotFound), errors.Is(err, pgx.ErrNoRows):
		return newProblem(http.StatusNotFound, "not-found", secret.Scrub(err.Error()))
	case errors.Is(err, catalog.ErrTenantExists):
		p := newProblem(http.StatusConflict, "conflict", secret.Scrub(err.Error()))
		p.Field = catalog.TakenField(err)
		return p
	case errors.Is(err, catalog.ErrOperatorExists),
		errors.Is(err, catalog.ErrServerInUse):
		return newProblem(http.StatusConflict, "conflict", secret.Scrub(err.Error()))
	case errors.Is(err, provisioner.ErrBusy):
		return newProblem(http.StatusConflict, "busy", err.Error())
	case errors.Is(err, provisioner.ErrWrongState):
		return newProblem(http.StatusConflict, "wrong-state", secret.Scrub(err.Error()))
	case errors.Is(err, catalog.ErrNoWarehouse):
		return newProblem(http.StatusConflict, "no-warehouse", err.Error())
	case errors.Is(err, validate.ErrInvalid):
		p := newProblem(http.StatusBadRequest, "invalid-input", secret.Scrub(err.Error()))
		// Libraries name the option that was wrong; the API's fields are the same words.
		var fe *validate.FieldError
		var me *validate.MissingError
		switch {
		case errors.As(err, &fe):
			p.Field = strings.ReplaceAll(fe.Field, "-", "_")
		case errors.As(err, &me):
			p.Field = strings.ReplaceAll(me.Field, "-", "_")
		}
		return p
	}
	return newProblem(http.StatusInternalServerError, "internal", secret.Scrub(err.Error()))
}

func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	cp := *p
	cp.Instance = r.URL.Path
	if cp.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tenantctl"`)
	}
	body, _ := json.Marshal(cp)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(cp.Status)
	_, _ = w.Write(append(body, '\n'))
}

// decodeJSON reads a JSON object into dst, refusing unknown fields (named in the
// problem) and bodies over 1 MiB.
func decodeJSON(r *http.Request, dst any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("more than one JSON value")
		}
	}
	if err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			return fieldError(typeErr.Field, validate.Errorf("field %q must be a %s", typeErr.Field, typeErr.Type))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return fieldError(f, validate.Errorf("unknown field %q", f))
		}
		return newProblem(http.StatusBadRequest, "invalid-input", "the body must be one JSON object: "+err.Error())
	}
	return nil
}
