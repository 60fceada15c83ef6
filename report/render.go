package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// Formats a report renders to.
var Formats = []string{"md", "html", "csv", "json"}

// Extension is the file extension of a format.
func Extension(format string) string { return "." + format }

// CheckFormat refuses an unknown format.
func CheckFormat(format string) error {
	for _, f := range Formats {
		if f == format {
			return nil
		}
	}
	return validate.Errorf("invalid report format %q: use md, html, csv or json", format)
}

// ContentType is the media type of a format.
func ContentType(format string) string {
	switch format {
	case "md":
		return "text/markdown; charset=utf-8"
	case "html":
		return "text/html; charset=utf-8"
	case "csv":
		return "text/csv; charset=utf-8"
	default:
		return "application/json"
	}
}

// Render writes r in format.
func Render(w io.Writer, r Report, format string) error {
	switch format {
	case "md":
		return writeMarkdown(w, r)
	case "html":
		return page.Execute(w, r)
	case "csv":
		return writeCSV(w, r)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return CheckFormat(format)
}

func writeMarkdown(w io.Writer, r Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: %s\n\n", mdText(r.Title), mdText(r.Tenant.Name))
	fmt.Fprintf(&b, "Customer `%s` (%s), generated %s UTC from the warehouse.\n", r.Tenant.Slug, mdText(r.Tenant.Domain), r.GeneratedAt.Format("2006-01-02 15:04"))
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "\n## %s\n\n", mdText(s.Title))
		if s.Note != "" {
			fmt.Fprintf(&b, "_%s_\n", mdText(s.Note))
			continue
		}
		if len(s.Rows) == 0 {
			b.WriteString("_none_\n")
			continue
		}
		b.WriteString("| " + strings.Join(mdCells(s.Columns), " | ") + " |\n")
		b.WriteString("|" + strings.Repeat("---|", len(s.Columns)) + "\n")
		for _, row := range s.Rows {
			b.WriteString("| " + strings.Join(mdCells(row), " | ") + " |\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = strings.ReplaceAll(mdText(c), "|", "\\|")
	}
	return out
}

func mdText(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
	return s
}

// writeCSV writes every section as a block: a header row whose first cell is
// "section", the rows with the section's name first, and a blank line.
func writeCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	for i, s := range r.Sections {
		if i > 0 {
			if err := cw.Write(nil); err != nil {
				return err
			}
		}
		if err := cw.Write(append([]string{"section"}, s.Columns...)); err != nil {
			return err
		}
		for _, row := range s.Rows {
			if err := cw.Write(append([]string{s.Name}, csvSafe(row)...)); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe defuses cells a spreadsheet would run as a formula (CSV injection): the
// customer wrote these values.
func csvSafe(row []string) []string {
	out := make([]string, len(row))
	for i, c := range row {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			if _, err := fmt.Sscan(c, new(float64)); err != nil {
				c = "'" + c
			}
		}
		out[i] = c
	}
	return out
}

// Fragment is the report's body as HTML, for embedding in a page.
func Fragment(r Report) (template.HTML, error) {
	var b strings.Builder
	if err := fragment.Execute(&b, r); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil //nolint:gosec // produced by html/template, every value escaped
}

const fragmentText = `{{define "sections"}}{{range .Sections}}
<section class="report-section" id="report-{{.Name}}">
<h3>{{.Title}}</h3>
{{if .Note}}<p class="note">{{.Note}}</p>{{else if not .Rows}}<p class="note">none</p>{{else}}{{$chart := chart .}}{{if $chart}}{{$chart}}
<details><summary>the figures</summary>{{end}}
<table><thead><tr>{{$rows := .Rows}}{{range $i, $c := .Columns}}<th{{if numcol $rows $i}} class="num" style="text-align:right"{{end}}>{{human $c}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range .}}<td{{if isnum .}} class="num" style="text-align:right"{{end}}>{{.}}</td>{{end}}</tr>{{end}}</tbody></table>{{if $chart}}</details>{{end}}{{end}}
</section>{{end}}{{end}}`

var fragmentFuncs = template.FuncMap{
	"human": Human,
	"isnum": IsNumber,
	"chart": Chart,
	// numcol says whether every cell of column i is a number.
	"numcol": func(rows [][]string, i int) bool {
		for _, r := range rows {
			if i >= len(r) || (r[i] != "" && !IsNumber(r[i])) {
				return false
			}
		}
		return len(rows) > 0
	},
}

var fragment = template.Must(template.New("fragment").Funcs(fragmentFuncs).Parse(fragmentText + `{{template "sections" .}}`))

var page = template.Must(template.New("page").Funcs(fragmentFuncs).Parse(fragmentText + `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}: {{.Tenant.Name}}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}th{background:#f3f3f3}.note{color:#777;font-style:italic}</style>
</head><body>
<h1>{{.Title}}: {{.Tenant.Name}}</h1>
<p>Customer <code>{{.Tenant.Slug}}</code> ({{.Tenant.Domain}}), generated {{.GeneratedAt.Format "2006-01-02 15:04"}} UTC from the warehouse.</p>
{{template "sections" .}}
</body></html>
`))
