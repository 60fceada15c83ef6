package report

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
)

// Human turns a column name (open_incidents) into a table header (Open incidents).
func Human(col string) string {
	s := strings.ReplaceAll(col, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// IsNumber says whether a cell holds a number (right-aligned in tables).
func IsNumber(cell string) bool {
	_, err := strconv.ParseFloat(cell, 64)
	return err == nil
}

// Chartable says whether a section is a series: a first column of labels (weeks, days)
// and numbers in the others, over several rows.
func Chartable(s Section) bool {
	if len(s.Rows) < 3 || len(s.Columns) < 2 {
		return false
	}
	first := strings.ToLower(s.Columns[0])
	if first != "week" && first != "day" && first != "month" && first != "date" {
		return false
	}
	for _, row := range s.Rows {
		for _, c := range row[1:] {
			if !IsNumber(c) {
				return false
			}
		}
	}
	return true
}

// seriesColors are the series' colours, distinguishable in colour and in print.
var seriesColors = []string{"#2554c7", "#d92d20", "#067647", "#b54708", "#7a5af8"}

// Chart draws a section's series as grouped bars in SVG: no script, drawn by the
// server, readable without colour (a legend and the values in each bar's title).
func Chart(s Section) template.HTML {
	if !Chartable(s) {
		return ""
	}
	const w, h, left, bottom, top = 640.0, 220.0, 40.0, 40.0, 28.0
	series := len(s.Columns) - 1
	most := 0.0
	for _, row := range s.Rows {
		for _, c := range row[1:] {
			v, _ := strconv.ParseFloat(c, 64)
			most = max(most, v)
		}
	}
	scale := 1.0
	if most > 0 {
		scale = (h - bottom - top) / most
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		w, h, w, h, template.HTMLEscapeString(s.Title))
	base := h - bottom
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#98a2b3"/>`, left, base, w-8, base)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="11" text-anchor="end" fill="#667085">%s</text>`, left-6, top+4, formatAxis(most))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="11" text-anchor="end" fill="#667085">0</text>`, left-6, base+4)
	slot := (w - left - 8) / float64(len(s.Rows))
	bar := max(2, (slot-6)/float64(series))
	for i, row := range s.Rows {
		x0 := left + float64(i)*slot + 3
		for j, c := range row[1:] {
			v, _ := strconv.ParseFloat(c, 64)
			bh := v * scale
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
				x0+float64(j)*bar, base-bh, bar-1, max(bh, 0.5), seriesColors[j%len(seriesColors)],
				template.HTMLEscapeString(row[0]), template.HTMLEscapeString(Human(s.Columns[j+1])), template.HTMLEscapeString(c))
		}
		if len(s.Rows) <= 16 || i%2 == 0 {
			label := row[0]
			if len(label) >= 10 && label[4] == '-' && label[7] == '-' {
				label = label[5:10] // 2026-11-30 → 11-30
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle" fill="#667085">%s</text>`, x0+slot/2-3, base+14, template.HTMLEscapeString(label))
		}
	}
	x := left
	for j := range series {
		fmt.Fprintf(&b, `<rect x="%.0f" y="6" width="10" height="10" fill="%s"/><text x="%.0f" y="15" font-size="11" fill="#1d2330">%s</text>`,
			x, seriesColors[j%len(seriesColors)], x+14, template.HTMLEscapeString(Human(s.Columns[j+1])))
		x += 24 + 7*float64(len(s.Columns[j+1]))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every value above is escaped
}

func formatAxis(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}
