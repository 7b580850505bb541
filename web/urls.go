package web

import (
	"net/url"
	"strings"

	"github.com/a-h/templ"
)

// Every link the pages hold is built here, relative to the page: base is the
// way from the page to the mount point ("./" or "../", see [page]), so the
// handler works wherever it is mounted. Values are escaped for the part of
// the URL they go in.

// link joins base and a fixed path of the handler: link("../", "spans").
func link(base, path string) templ.SafeURL {
	return templ.SafeURL(base + path)
}

// spansURL is the span list filtered by the key/value pairs kv, each value
// query-escaped: spansURL("./", "method", m, "kind", "server").
func spansURL(base string, kv ...string) templ.SafeURL {
	return templ.SafeURL(base + "spans" + query(kv...))
}

// query builds "?k=v&…" in the order given, skipping empty values.
func query(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		if b.Len() == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[i+1]))
	}
	return b.String()
}

// spanURL is the page of one span.
func spanURL(base, spanID string) templ.SafeURL {
	return templ.SafeURL(base + "spans/" + url.PathEscape(spanID))
}

// traceURL is the waterfall of one trace.
func traceURL(base, traceID string) templ.SafeURL {
	return templ.SafeURL(base + "traces/" + url.PathEscape(traceID))
}

// traceLink is where a trace ID links to: the tracing backend when a URL
// template is configured, the local waterfall otherwise.
func traceLink(p page, traceID string) templ.SafeURL {
	if p.TraceURL == "" {
		return traceURL(p.Base, traceID)
	}
	return templ.SafeURL(strings.ReplaceAll(p.TraceURL, "{traceID}", url.PathEscape(traceID)))
}

// apiSpanURL is the JSON of one span.
func apiSpanURL(base, spanID string) templ.SafeURL {
	return templ.SafeURL(base + "api/spans/" + url.PathEscape(spanID))
}

// apiTraceURL is the OTLP JSON of one trace.
func apiTraceURL(base, traceID string) templ.SafeURL {
	return templ.SafeURL(base + "api/traces/" + url.PathEscape(traceID))
}

// sortURL is the summary sorted by key.
func sortURL(base, key string) templ.SafeURL {
	if key == "" || key == "method" {
		return templ.SafeURL(base)
	}
	return templ.SafeURL(base + query("sort", key))
}

// logsURL is the logs page of one method's records at level and above.
func logsURL(base, level, method string) templ.SafeURL {
	return templ.SafeURL(base + "logs" + query("level", level) + "&method=" + url.QueryEscape(method))
}

// withQuery adds key=value to the query of u, a URL built here.
func withQuery(u templ.SafeURL, key, value string) templ.SafeURL {
	sep := "?"
	if strings.Contains(string(u), "?") {
		sep = "&"
	}
	return templ.SafeURL(string(u) + sep + url.QueryEscape(key) + "=" + url.QueryEscape(value)) // one allocation
}
