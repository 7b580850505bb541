// Tests of debugz's rows against real connect-go servers and clients
// instrumented with otelconnect v0.7 (semantic conventions v1.21:
// rpc.system, a code key per protocol), over gRPC, gRPC-Web and Connect.
// The tests are e2e/connectcase's, which e2e/connect runs on the newest
// otelconnect.
package connecte2e_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/debugz/debugz/e2e/connectcase"
)

// TestConnectAttributes: the calls were counted from otelconnect
// v0.7's attributes: rpc.system and a code key of each protocol's own
// (rpc.grpc.status_code, rpc.grpc_web.status_code a number each;
// rpc.connect_rpc.error_code the Connect name, on errors only). The
// workspace (go.work) holds e2e/connect too, whose newest otelconnect its
// build list then picks for this module as well: there the test skips,
// and the other tests run on the newest generation; .ci/run runs this
// module with GOWORK=off, on v0.7.
func TestConnectAttributes(t *testing.T) {
	connectcase.Attributes(t, connectcase.Want{
		Protocols: map[string]connectcase.Attrs{
			"gRPC":     {System: "rpc.system=grpc", CodeKey: "rpc.grpc.status_code"},
			"gRPC-Web": {System: "rpc.system=grpc_web", CodeKey: "rpc.grpc_web.status_code"},
			"Connect":  {System: "rpc.system=connect_rpc", CodeKey: "rpc.connect_rpc.error_code"},
		},
		Skip: func(systems, codeKeys []string) string {
			if slices.Contains(codeKeys, "rpc.response.status_code") {
				return fmt.Sprintf("spans carry %q, %q: the workspace picked a newer otelconnect; run with GOWORK=off", systems, codeKeys)
			}
			return ""
		},
	})
}

func TestConnectRowsPerProtocol(t *testing.T) { connectcase.RowsPerProtocol(t) }

func TestConnectOneRowPerMethod(t *testing.T) { connectcase.OneRowPerMethod(t) }

func TestConnectInFlight(t *testing.T) { connectcase.InFlight(t) }
