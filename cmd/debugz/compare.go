package main

import (
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/debugz/debugz/internal/snapshot"
)

// The page that sets two snapshots side by side per method: what changed
// between them.

// row is one (method, kind) in either snapshot.
type row struct {
	Method, Kind     string
	A, B             side
	Appeared, Gone   []string // codes in B only, in A only
	CallsDelta       int64
	ErrorRateChanged bool
}

// side is a method's figures in one snapshot; Seen is false when it has
// no row there.
type side struct {
	Seen          bool
	Calls, Errors uint64
	ErrorRate     float64
	P50, P99      time.Duration
	SpansURL      string
	codes         map[string]bool
}

func compareRows(a, b *snapshot.Meta) []row {
	type key struct{ method, kind string }
	rows := map[key]*row{}
	get := func(m snapshot.Method) *row {
		k := key{m.Method.Method, m.Kind}
		if rows[k] == nil {
			rows[k] = &row{Method: k.method, Kind: k.kind}
		}
		return rows[k]
	}
	fill := func(prefix string, m snapshot.Method) side {
		s := side{Seen: true, Calls: m.Count, Errors: m.Errors, P50: m.P50, P99: m.P99, codes: map[string]bool{},
			SpansURL: prefix + "spans?" + url.Values{"method": {m.Method.Method}, "kind": {m.Kind}}.Encode()}
		if m.Count > 0 {
			s.ErrorRate = float64(m.Errors) / float64(m.Count)
		}
		for _, c := range m.Codes {
			if c.Count > 0 {
				s.codes[c.Name] = true
			}
		}
		return s
	}
	for _, m := range a.Summary.Methods {
		get(m).A = fill("a/", m)
	}
	for _, m := range b.Summary.Methods {
		get(m).B = fill("b/", m)
	}
	out := make([]row, 0, len(rows))
	for _, r := range rows {
		for c := range r.B.codes {
			if !r.A.codes[c] {
				r.Appeared = append(r.Appeared, c)
			}
		}
		for c := range r.A.codes {
			if !r.B.codes[c] {
				r.Gone = append(r.Gone, c)
			}
		}
		slices.Sort(r.Appeared)
		slices.Sort(r.Gone)
		r.CallsDelta = int64(r.B.Calls) - int64(r.A.Calls)
		r.ErrorRateChanged = r.A.ErrorRate != r.B.ErrorRate
		out = append(out, *r)
	}
	slices.SortFunc(out, func(x, y row) int { return cmp.Or(cmp.Compare(x.Method, y.Method), cmp.Compare(x.Kind, y.Kind)) })
	return out
}

var compareTmpl = template.Must(template.New("compare").Funcs(template.FuncMap{
	"pct": func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	"dur": func(d time.Duration) string {
		if d == 0 {
			return "–"
		}
		return d.Round(time.Microsecond).String()
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>debugz: two snapshots</title>
<link rel="stylesheet" href="a/static/debugz.css"></head>
<body><main>
<h1>Two snapshots, per method</h1>
<p><b>A</b>: <a href="a/">{{.A}}</a><br><b>B</b>: <a href="b/">{{.B}}</a></p>
<table class="compare">
<thead><tr><th>method</th><th>kind</th><th>calls A</th><th>calls B</th><th>Δ</th><th>errors A</th><th>errors B</th>
<th>p50 A</th><th>p50 B</th><th>p99 A</th><th>p99 B</th><th>codes that appeared</th><th>codes that vanished</th></tr></thead>
<tbody>{{range .Rows}}<tr>
<td>{{.Method}}</td><td>{{.Kind}}</td>
<td>{{if .A.Seen}}<a href="{{.A.SpansURL}}">{{.A.Calls}}</a>{{else}}–{{end}}</td>
<td>{{if .B.Seen}}<a href="{{.B.SpansURL}}">{{.B.Calls}}</a>{{else}}–{{end}}</td>
<td>{{.CallsDelta}}</td>
<td>{{pct .A.ErrorRate}}</td><td>{{if .ErrorRateChanged}}<b>{{pct .B.ErrorRate}}</b>{{else}}{{pct .B.ErrorRate}}{{end}}</td>
<td>{{dur .A.P50}}</td><td>{{dur .B.P50}}</td><td>{{dur .A.P99}}</td><td>{{dur .B.P99}}</td>
<td>{{range .Appeared}}<span class="code err">{{.}}</span> {{end}}</td>
<td>{{range .Gone}}<span class="code ok">{{.}}</span> {{end}}</td>
</tr>{{end}}</tbody></table>
</main></body></html>
`))

// compare serves the side-by-side page of two snapshots.
func compare(a, b *snapshot.Snapshot) http.Handler {
	rows := compareRows(&a.Meta, &b.Meta)
	data := struct {
		A, B string
		Rows []row
	}{banner(&a.Meta), banner(&b.Meta), rows}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := compareTmpl.Execute(w, data); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
}
