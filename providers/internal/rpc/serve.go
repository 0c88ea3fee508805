// Package rpc holds what the project's plugins share: serving gRPC the way the engine
// starts plugins, and reading and writing resource properties.
package rpc

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"google.golang.org/grpc"
)

// Serve starts the plugin's gRPC server on a free loopback port, prints the port on
// stdout (how the engine learns where to dial), and serves until the engine hangs up.
func Serve(register func(*grpc.Server)) {
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(s *grpc.Server) error { register(s); return nil },
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "could not start the plugin's gRPC server: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "the plugin's gRPC server stopped: %v\n", err)
		os.Exit(1)
	}
}
