// Package rpcmethod matches gRPC full method names against the patterns the
// debugz options take (WithIgnoredMethods, grpcstats.WithMessageCapture).
package rpcmethod

import "strings"

// Match reports whether method ("pkg.Service/Method", no leading slash) is
// one of patterns, each a full method or a whole service ("pkg.Service/*").
func Match(patterns []string, method string) bool {
	for _, p := range patterns {
		if svc, ok := strings.CutSuffix(p, "/*"); ok {
			if len(method) > len(svc) && method[len(svc)] == '/' && strings.HasPrefix(method, svc) {
				return true
			}
		} else if p == method {
			return true
		}
	}
	return false
}
