package web

import "embed"

// staticFS holds the stylesheet, script and icon the pages load from
// static/: nothing comes from another host.
//
//go:embed static
var staticFS embed.FS
