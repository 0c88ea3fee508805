// pulumi-language-nodejs: the Node.js language host the Pulumi CLI starts to run a
// program (Run) and a policy pack (RunPlugin), for machines that cannot download the
// official one. It launches @pulumi/pulumi's own run scripts (cmd/run, cmd/run-policy-pack)
// with the arguments and environment they read, so the SDK does the real work; what it
// does not implement (code generation, packing, templates) answers Unimplemented.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	hrpc "hyperscaler.local/providers/internal/rpc"
)

// version is the CLI's: setup builds both at the @pulumi/pulumi pin.
var version = "v3.248.0"

// bailExitCode: the SDK already told the user what went wrong (cmd/run's convention).
const bailExitCode = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress, tracing string

	mu      sync.Mutex
	running map[*exec.Cmd]bool
}

func main() {
	tracing := flag.String("tracing", "", "tracing endpoint, passed on to the program")
	flag.String("root", "", "project root (unused: the engine sends it with each request)")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	h := &host{tracing: *tracing, running: map[*exec.Cmd]bool{}}
	if flag.NArg() > 0 {
		h.engineAddress = flag.Arg(flag.NArg() - 1)
	}
	hrpc.Serve(func(s *grpc.Server) { pulumirpc.RegisterLanguageRuntimeServer(s, h) })
}

func (h *host) Handshake(context.Context, *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// options are the runtime options of Pulumi.yaml / PulumiPolicy.yaml that change how node runs.
type options struct {
	typescript bool
	tsconfig   string
	nodeargs   []string
}

func readOptions(info *pulumirpc.ProgramInfo) options {
	o := options{typescript: true}
	if info.GetOptions() == nil {
		return o
	}
	m := info.GetOptions().AsMap()
	if v, ok := m["typescript"].(bool); ok {
		o.typescript = v
	}
	if v, ok := m["tsconfig"].(string); ok {
		o.tsconfig = v
	}
	if v, ok := m["nodeargs"].(string); ok {
		o.nodeargs = strings.Fields(v)
	}
	return o
}

func (o options) env() []string {
	var env []string
	if o.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if o.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+o.tsconfig)
	}
	return env
}

// locate finds a script of @pulumi/pulumi (a folder with index.js) the way node resolves
// it from dir: node_modules of dir, then of each folder above (the package declares no
// "exports" that would change that). Walking here spares a node start on every run.
func locate(module, dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, "node_modules", module, "index.js")
		if _, err := os.Stat(candidate); err == nil {
			return candidate, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("cannot find %s from %s: is @pulumi/pulumi installed there (npm ci)?", module, dir)
		}
	}
}

func (h *host) start(cmd *exec.Cmd) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	h.running[cmd] = true
	return nil
}

func (h *host) wait(cmd *exec.Cmd) error {
	err := cmd.Wait()
	h.mu.Lock()
	delete(h.running, cmd)
	h.mu.Unlock()
	return err
}

// Cancel interrupts the programs running, so that they stop registering resources.
func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for cmd := range h.running {
		_ = cmd.Process.Signal(os.Interrupt)
	}
	return &emptypb.Empty{}, nil
}

// Run runs the program with @pulumi/pulumi's cmd/run, connected to the engine's monitor.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	dir := info.GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = req.GetProgram()
	}
	if entry == "" {
		entry = "."
	}
	runScript, err := locate("@pulumi/pulumi/cmd/run", dir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	opts := readOptions(info)
	args := append(append([]string{}, opts.nodeargs...), runScript)
	arg := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	arg("monitor", req.GetMonitorAddress())
	arg("engine", h.engineAddress)
	arg("organization", req.GetOrganization())
	arg("project", req.GetProject())
	arg("root-directory", info.GetRootDirectory())
	arg("stack", req.GetStack())
	arg("pwd", dir)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	arg("parallel", strconv.Itoa(int(req.GetParallel())))
	arg("tracing", h.tracing)
	args = append(append(args, entry), req.GetArgs()...)

	// The SDK reads config as <namespace>:config:<name> (what every host has sent it).
	cfg := map[string]string{}
	for k, v := range req.GetConfig() {
		key, err := config.ParseKey(k)
		if err != nil {
			return nil, err
		}
		cfg[key.Namespace()+":config:"+key.Name()] = v
	}
	cfgJSON, _ := json.Marshal(cfg)
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, _ := json.Marshal(secretKeys)

	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Env = append(append(os.Environ(), "PULUMI_CONFIG="+string(cfgJSON), "PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON)), opts.env()...)
	// Wrapped writers: node may set its stdio non-blocking, which a shared fd would pass to us.
	cmd.Stdout, cmd.Stderr = struct{ io.Writer }{os.Stdout}, struct{ io.Writer }{os.Stderr}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	if err := h.start(cmd); err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run node: %v", err)}, nil
	}
	err = h.wait(cmd)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exit) && exit.ExitCode() == bailExitCode:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exit):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exit.ExitCode())}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run the program: %v", err)}, nil
	}
}

// RunPlugin runs a plugin written in Node.js; for a policy pack (kind analyzer) that is
// @pulumi/pulumi's cmd/run-policy-pack in the pack's folder, with the engine's address and
// the pack's folder last, as the engine's analyzer protocol expects. Its output streams back.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	info := req.GetInfo()
	dir := info.GetProgramDirectory()
	opts := readOptions(info)
	policy := req.GetKind() == "analyzer"
	module := "@pulumi/pulumi/cmd/run-plugin"
	if policy {
		module = "@pulumi/pulumi/cmd/run-policy-pack"
	}
	script, err := locate(module, dir)
	if err != nil {
		return err
	}
	args := append(append([]string{}, opts.nodeargs...), script)
	if policy {
		args = append(append(args, req.GetArgs()...), dir)
	} else {
		args = append(append(args, dir), req.GetArgs()...)
	}
	cmd := exec.CommandContext(server.Context(), "node", args...)
	cmd.Dir = req.GetPwd()
	if policy {
		cmd.Dir = dir
	}
	cmd.Env = append(append([]string{}, req.GetEnv()...), opts.env()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := h.start(cmd); err != nil {
		return fmt.Errorf("could not run the plugin %s: %w", dir, err)
	}
	if err := h.wait(cmd); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("plugin %s exited with code %d", dir, exit.ExitCode())
		}
		return err
	}
	return closer.Close()
}

type packageJSON struct {
	Name         string            `json:"name"`
	Version      string            `json:"version"`
	Dependencies map[string]string `json:"dependencies"`
	DevDeps      map[string]string `json:"devDependencies"`
	Pulumi       struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

func readPackage(path string) (packageJSON, error) {
	var p packageJSON
	b, err := os.ReadFile(path)
	if err != nil {
		return p, err
	}
	return p, json.Unmarshal(b, &p)
}

// nodeModules lists the packages installed for dir: node_modules/* and node_modules/@scope/*
// of dir and each folder above it, nearest first (node's own lookup order).
func nodeModules(dir string) []string {
	var out []string
	for d := dir; ; d = filepath.Dir(d) {
		for _, pattern := range []string{"node_modules/*/package.json", "node_modules/@*/*/package.json"} {
			m, _ := filepath.Glob(filepath.Join(d, pattern))
			out = append(out, m...)
		}
		if filepath.Dir(d) == d {
			return out
		}
	}
}

// GetRequiredPackages lists the resource plugins the program's npm packages ask for
// (package.json "pulumi": {"resource": true}), at the versions they ask for.
func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	seen := map[string]bool{}
	resp := &pulumirpc.GetRequiredPackagesResponse{}
	for _, path := range nodeModules(req.GetInfo().GetProgramDirectory()) {
		p, err := readPackage(path)
		if err != nil || !p.Pulumi.Resource {
			continue
		}
		name := p.Pulumi.Name
		if name == "" {
			name = strings.TrimPrefix(strings.TrimPrefix(p.Name, "@pulumi/"), "@")
		}
		v := p.Pulumi.Version
		if v == "" {
			v = p.Version
		}
		if !strings.HasPrefix(v, "v") {
			v = "v" + v
		}
		if seen[name+v] {
			continue
		}
		seen[name+v] = true
		resp.Packages = append(resp.Packages, &pulumirpc.PackageDependency{Name: name, Kind: "resource", Version: v, Server: p.Pulumi.Server})
	}
	sort.Slice(resp.Packages, func(i, j int) bool { return resp.Packages[i].Name < resp.Packages[j].Name })
	return resp, nil
}

func (h *host) GetRequiredPlugins(ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	pkgs, err := h.GetRequiredPackages(ctx, &pulumirpc.GetRequiredPackagesRequest{Info: req.GetInfo()})
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPluginsResponse{}
	for _, p := range pkgs.Packages {
		resp.Plugins = append(resp.Plugins, &pulumirpc.PluginDependency{Name: p.Name, Kind: p.Kind, Version: p.Version, Server: p.Server})
	}
	return resp, nil
}

// InstallDependencies installs the program's npm packages exactly as locked.
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	dir := req.GetInfo().GetProgramDirectory()
	verb := "install"
	if _, err := os.Stat(filepath.Join(dir, "package-lock.json")); err == nil {
		verb = "ci"
	}
	cmd := exec.CommandContext(server.Context(), "npm", verb, "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm %s in %s: %w", verb, dir, err)
	}
	return closer.Close()
}

func (h *host) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, err
	}
	v, err := exec.Command(node, "--version").Output()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: node, Version: strings.TrimSpace(string(v))}, nil
}

// GetProgramDependencies lists the program's direct dependencies at their installed versions.
func (h *host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	p, err := readPackage(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, deps := range []map[string]string{p.Dependencies, p.DevDeps} {
		for name, wanted := range deps {
			v := wanted
			if installed, err := readPackage(filepath.Join(dir, "node_modules", name, "package.json")); err == nil {
				v = installed.Version
			}
			resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: name, Version: v})
		}
	}
	sort.Slice(resp.Dependencies, func(i, j int) bool { return resp.Dependencies[i].Name < resp.Dependencies[j].Name })
	return resp, nil
}
