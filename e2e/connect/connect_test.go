// Tests of debugz's rows against real connect-go servers and clients
// instrumented with the newest otelconnect (semantic conventions v1.43:
// rpc.system.name, rpc.response.status_code), over gRPC, gRPC-Web and
// Connect. The tests are e2e/connectcase's, which e2e/connect07 runs on
// otelconnect v0.7.
package connecte2e_test

import (
	"testing"

	"github.com/debugz/debugz/e2e/connectcase"
)

// TestConnectAttributes: the calls were counted from otelconnect v0.10+'s
// attributes: rpc.system.name (gRPC-Web reported as grpc) and the code's
// name in rpc.response.status_code, over every protocol.
func TestConnectAttributes(t *testing.T) {
	connectcase.Attributes(t, connectcase.Want{Protocols: map[string]connectcase.Attrs{
		"gRPC":     {System: "rpc.system.name=grpc", CodeKey: "rpc.response.status_code"},
		"gRPC-Web": {System: "rpc.system.name=grpc", CodeKey: "rpc.response.status_code"},
		"Connect":  {System: "rpc.system.name=connectrpc", CodeKey: "rpc.response.status_code"},
	}})
}

func TestConnectRowsPerProtocol(t *testing.T) { connectcase.RowsPerProtocol(t) }

func TestConnectOneRowPerMethod(t *testing.T) { connectcase.OneRowPerMethod(t) }

func TestConnectInFlight(t *testing.T) { connectcase.InFlight(t) }
