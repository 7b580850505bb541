// Package web is the front end of debugz: the pages and the JSON API that
// [github.com/debugz/debugz.NewHandler] serves. Programs use that function;
// this package is what it is built from, and its API follows the root
// package's needs: it exports [NewHandler] alone, and nothing a program can
// call it with, so that no view model is ever part of debugz's API.
//
// [NewHandler] routes requests with chi and renders pages with templ
// components. It reads its data through view.Source, which the root package
// implements, as the view models declared in internal/view: components only
// ever see those, with durations, IDs and codes already in their final form, and
// never an OpenTelemetry span or attribute key. The root package also hands
// over the facts the pages quote, such as the near-deadline threshold in
// view.Config.
//
// Every concept has one file. Each page is a .templ file of components with
// its generated _templ.go, and a .go file beside it holding the page's view
// model and the helpers that compute it (summary.templ and summary.go, …);
// layout.templ and layout.go are the shell and the pieces every page shares.
// format.go formats numbers, durations and times for people, urls.go builds
// every link (all relative, so the handler may be mounted anywhere),
// params.go parses the query string, api.go writes the JSON and live.go the
// Server-Sent Events and follow streams. The gRPC code table is the internal
// rpccode package, shared with the root package.
package web

// Each .templ file opens with a comment set apart from its package clause by
// a blank line. templ writes its version ("// templ: version: …") on the line
// above the package clause of every _templ.go file it generates, where go doc
// would read it as package documentation; that comment, copied beneath it,
// and the blank line keep this file's comment the only one
// (TestOnlyDocGoDocumentsThePackage).
