package main

import (
	"html/template"
	"net/http"
	"time"

	"github.com/debugz/debugz/internal/snapshot"
)

// The viewer's own page of what a snapshot says of its process beside the
// pages: the build, the runtime figures, what the bound left out.

var aboutTmpl = template.Must(template.New("about").Funcs(template.FuncMap{
	"mib": func(n uint64) string { return formatMiB(n) },
	"dur": func(d time.Duration) string { return d.String() },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>debugz: the snapshot</title>
<link rel="stylesheet" href="static/debugz.css"></head>
<body><p class="banner">{{.Banner}}</p><main>
<p><a href="./">The pages of the snapshot</a> · <a href="api/snapshot">the file</a></p>
<h2>Process</h2>
<table><tbody>
<tr><th>service</th><td>{{.Meta.Process.Service}} {{.Meta.Process.Version}}</td></tr>
<tr><th>host, pid</th><td>{{.Meta.Process.Host}}, {{.Meta.Process.PID}}</td></tr>
<tr><th>started</th><td>{{.Meta.Process.Start.UTC}}</td></tr>
<tr><th>taken</th><td>{{.Meta.Taken.UTC}}</td></tr>
</tbody></table>
<h2>Runtime</h2>
<table><tbody>
<tr><th>goroutines</th><td>{{.Meta.Runtime.Goroutines}} (GOMAXPROCS {{.Meta.Runtime.GOMAXPROCS}})</td></tr>
<tr><th>heap</th><td>{{mib .Meta.Runtime.HeapAlloc}} allocated, {{mib .Meta.Runtime.HeapInuse}} in use, {{mib .Meta.Runtime.HeapSys}} from the OS ({{mib .Meta.Runtime.Sys}} in all)</td></tr>
<tr><th>GC</th><td>{{.Meta.Runtime.NumGC}} cycles, {{dur .Meta.Runtime.PauseTotal}} paused in all; latest pauses: {{range .Meta.Runtime.RecentPauses}}{{dur .}} {{end}}</td></tr>
</tbody></table>
<h2>Build</h2>
<table><tbody>
<tr><th>Go</th><td>{{.Meta.Build.GoVersion}}</td></tr>
<tr><th>main</th><td>{{.Meta.Build.Path}} ({{.Meta.Build.Main.Path}} {{.Meta.Build.Main.Version}})</td></tr>
{{range .Meta.Build.Settings}}<tr><th>{{.Path}}</th><td>{{.Version}}</td></tr>{{end}}
</tbody></table>
<h2>Dependencies</h2>
<table><tbody>{{range .Meta.Build.Deps}}<tr><td>{{.Path}}</td><td>{{.Version}}</td></tr>{{end}}</tbody></table>
</main></body></html>
`))

// about serves the page.
func about(s *snapshot.Snapshot) http.Handler {
	data := struct {
		Banner string
		Meta   *snapshot.Meta
	}{banner(&s.Meta), &s.Meta}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := aboutTmpl.Execute(w, data); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
}

func formatMiB(n uint64) string { return formatFloat(float64(n)/(1<<20)) + " MiB" }
