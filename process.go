package debugz

import (
	"os"
	"runtime/debug"
	"sync"

	"github.com/debugz/debugz/internal/view"

	"go.opentelemetry.io/otel/attribute"
)

// Process says which process the pages show: the service and version of
// the spans' resource (else the main module's version), the host, the PID
// and when the processor started.
func (s *source) Process() view.Process {
	p := view.Process{Host: host(), PID: os.Getpid(), Start: s.sp.started, Version: buildVersion()}
	if res := s.sp.resource.Load(); res != nil {
		if v, ok := res.Set().Value(attribute.Key("service.name")); ok {
			p.Service = v.AsString()
		}
		if v, ok := res.Set().Value(attribute.Key("service.version")); ok && v.AsString() != "" {
			p.Version = v.AsString()
		}
	}
	return p
}

// host is the host name, read once.
var host = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	return h
})

// buildVersion is the main module's version, or its VCS revision when it
// was built from a work tree ("(devel)"), read once.
var buildVersion = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return s.Value[:12]
		}
	}
	return ""
})
