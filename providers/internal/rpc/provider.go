package rpc

import (
	"context"
	"fmt"
	"os"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Provider answers what every resource provider plugin of the project answers alike:
// its version, a schema naming it, provider config taken as given, and secrets accepted.
type Provider struct {
	pulumirpc.UnimplementedResourceProviderServer
	Name, Version string
}

func (p *Provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: p.Version}, nil
}

// GetSchema: the engine needs none to run a program; the npm SDK is generated already.
func (p *Provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":%q,"version":%q}`, p.Name, p.Version)}, nil
}

func (p *Provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *Provider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *Provider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

func (p *Provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// Unsupported is the error for a type token the plugin does not implement, naming what it does.
func (p *Provider) Unsupported(token string, supported ...string) error {
	return status.Errorf(codes.Unimplemented,
		"%s is not implemented by the %s plugin built from this project (providers/%s); it implements %v. "+
			"Install the official plugin (pulumi plugin install resource %s %s) to use it",
		token, p.Name, p.Name, supported, p.Name, p.Version)
}

// Main serves a provider: the engine passes its own address as the last argument.
func Main(server pulumirpc.ResourceProviderServer) {
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "-version") {
		info, _ := server.GetPluginInfo(context.Background(), &emptypb.Empty{})
		fmt.Println(info.GetVersion())
		return
	}
	Serve(func(s *grpc.Server) { pulumirpc.RegisterResourceProviderServer(s, server) })
}

// Engine dials the engine whose address a plugin was started with (its last argument),
// for logging; nil when there is none.
func Engine() pulumirpc.EngineClient {
	if len(os.Args) < 2 {
		return nil
	}
	conn, err := grpc.NewClient(os.Args[len(os.Args)-1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil
	}
	return pulumirpc.NewEngineClient(conn)
}
