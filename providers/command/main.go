// pulumi-resource-command: the command provider plugin @pulumi/command 1.2.1 talks to, for
// machines that cannot download the official one. It implements command:local:Command as
// upstream documents it: create on create; on any input change the update command (else
// create) in place; a change of triggers replaces; delete runs the delete command kept in
// state; stdin, environment, dir, interpreter, logging and PULUMI_COMMAND_STDOUT/STDERR.
// Outputs are secret whenever an input is (upstream wires every output to every input).
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"

	hrpc "hyperscaler.local/providers/internal/rpc"
)

const commandToken = "command:local:Command"

type commandProvider struct {
	hrpc.Provider
	engine pulumirpc.EngineClient
}

// version is what @pulumi/command's package.json asks for (pulumi.version); setup passes it.
var version = "1.2.1"

func main() {
	hrpc.Main(&commandProvider{Provider: hrpc.Provider{Name: "command", Version: version}, engine: hrpc.Engine()})
}

var loggingModes = map[string]bool{"stdout": true, "stderr": true, "stdoutAndStderr": true, "none": true}

func str(m resource.PropertyMap, key string) (string, bool) {
	v, ok := m[resource.PropertyKey(key)]
	if !ok || !hrpc.Plain(v).IsString() {
		return "", false
	}
	return hrpc.Plain(v).StringValue(), true
}

func (p *commandProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	token := resource.URN(req.GetUrn()).Type().String()
	if token != commandToken {
		return nil, p.Unsupported(token, commandToken)
	}
	news, err := hrpc.Props(req.GetNews())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	if v, ok := news["logging"]; ok && !v.ContainsUnknowns() && !v.IsNull() {
		if l, _ := str(news, "logging"); !loggingModes[l] {
			failures = append(failures, &pulumirpc.CheckFailure{Property: "logging",
				Reason: fmt.Sprintf("logging is %q: one of stdout, stderr, stdoutAndStderr, none", l)})
		}
	}
	if v, ok := news["interpreter"]; ok && !v.ContainsUnknowns() && v.IsArray() && len(v.ArrayValue()) == 0 {
		failures = append(failures, &pulumirpc.CheckFailure{Property: "interpreter", Reason: "interpreter is empty: give the program to run the command with, e.g. [\"/bin/sh\", \"-c\"]"})
	}
	for _, k := range []resource.PropertyKey{"assetPaths", "archivePaths"} {
		if v, ok := news[k]; ok && !v.IsNull() {
			failures = append(failures, &pulumirpc.CheckFailure{Property: string(k), Reason: fmt.Sprintf(
				"%s is not implemented by the command plugin built from providers/command; install the official plugin (pulumi plugin install resource command %s) to use it", k, version)})
		}
	}
	// Upstream's default, kept in the inputs as upstream keeps it.
	if _, ok := news["addPreviousOutputInEnv"]; !ok {
		news["addPreviousOutputInEnv"] = resource.NewBoolProperty(true)
	}
	inputs, err := hrpc.Struct(news)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

func (p *commandProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	changed, err := hrpc.ChangedInputs(req)
	if err != nil {
		return nil, err
	}
	return hrpc.Diff(changed, map[string]bool{"triggers": true}), nil
}

// state is what the resource keeps: its inputs, and the last run's stdout and stderr,
// secret when any input is.
func state(inputs resource.PropertyMap, stdout, stderr resource.PropertyValue) resource.PropertyMap {
	s := inputs.Copy()
	if hrpc.HasSecret(inputs) {
		stdout, stderr = resource.MakeSecret(stdout), resource.MakeSecret(stderr)
	}
	s["stdout"], s["stderr"] = stdout, stderr
	return s
}

var unknown = resource.MakeComputed(resource.NewStringProperty(""))

func (p *commandProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	inputs, err := hrpc.Props(req.GetProperties())
	if err != nil {
		return nil, err
	}
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return nil, err
	}
	id := resource.URN(req.GetUrn()).Name() + hex.EncodeToString(suffix)
	if req.GetPreview() {
		out, err := hrpc.Struct(state(inputs, unknown, unknown))
		return &pulumirpc.CreateResponse{Id: id, Properties: out}, err
	}
	stdout, stderr := "", ""
	if cmd, ok := str(inputs, "create"); ok {
		if stdout, stderr, err = p.run(ctx, req.GetUrn(), cmd, inputs, nil); err != nil {
			return nil, err
		}
	}
	out, err := hrpc.Struct(state(inputs, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr)))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: out}, nil
}

func (p *commandProvider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	olds, err := hrpc.Props(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := hrpc.Props(req.GetNews())
	if err != nil {
		return nil, err
	}
	stdout, stderr := olds["stdout"], olds["stderr"]
	if req.GetPreview() {
		if news.ContainsUnknowns() {
			stdout, stderr = unknown, unknown
		}
		out, err := hrpc.Struct(state(news, hrpc.Plain(stdout), hrpc.Plain(stderr)))
		return &pulumirpc.UpdateResponse{Properties: out}, err
	}
	cmd, ok := str(news, "update")
	if !ok {
		cmd, ok = str(news, "create")
	}
	if ok {
		o, e, err := p.run(ctx, req.GetUrn(), cmd, news, olds)
		if err != nil {
			return nil, err
		}
		stdout, stderr = resource.NewStringProperty(o), resource.NewStringProperty(e)
	}
	out, err := hrpc.Struct(state(news, hrpc.Plain(stdout), hrpc.Plain(stderr)))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: out}, nil
}

// Delete runs the delete command the state holds, with the environment it was created with.
func (p *commandProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	olds, err := hrpc.Props(req.GetProperties())
	if err != nil {
		return nil, err
	}
	if cmd, ok := str(olds, "delete"); ok {
		if _, _, err := p.run(ctx, req.GetUrn(), cmd, olds, olds); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

// Read (refresh) keeps the state: a command has nothing to read back.
func (p *commandProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

// engineLog streams a command's output lines to the engine, as upstream's logging does.
type engineLog struct {
	p    *commandProvider
	ctx  context.Context
	urn  string
	mu   *sync.Mutex
	line bytes.Buffer
}

func (l *engineLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.line.Write(b)
	for {
		i := bytes.IndexByte(l.line.Bytes(), '\n')
		if i < 0 {
			return len(b), nil
		}
		msg := string(l.line.Next(i + 1))
		if l.p.engine != nil {
			_, _ = l.p.engine.Log(l.ctx, &pulumirpc.LogRequest{Severity: pulumirpc.LogSeverity_INFO,
				Message: strings.TrimSuffix(msg, "\n"), Urn: l.urn, Ephemeral: true})
		}
	}
}

// run runs one command through the interpreter, with stdin, dir and environment from the
// inputs and the previous run's output when asked, and returns its stdout and stderr
// without their final newline. A failure says what ran and what it printed.
func (p *commandProvider) run(ctx context.Context, urn, command string, inputs, previous resource.PropertyMap) (string, string, error) {
	interpreter := []string{"/bin/sh", "-c"}
	if v, ok := inputs["interpreter"]; ok && hrpc.Plain(v).IsArray() && len(v.ArrayValue()) > 0 {
		interpreter = nil
		for _, e := range hrpc.Plain(v).ArrayValue() {
			interpreter = append(interpreter, e.StringValue())
		}
	}
	cmd := exec.CommandContext(ctx, interpreter[0], append(interpreter[1:], command)...)
	cmd.Env = os.Environ()
	if v, ok := inputs["environment"]; ok && hrpc.Plain(v).IsObject() {
		for k, e := range hrpc.Plain(v).ObjectValue() {
			cmd.Env = append(cmd.Env, string(k)+"="+e.StringValue())
		}
	}
	if v, ok := inputs["addPreviousOutputInEnv"]; previous != nil && (!ok || !hrpc.Plain(v).IsBool() || hrpc.Plain(v).BoolValue()) {
		o, _ := str(previous, "stdout")
		e, _ := str(previous, "stderr")
		cmd.Env = append(cmd.Env, "PULUMI_COMMAND_STDOUT="+o, "PULUMI_COMMAND_STDERR="+e)
	}
	if dir, ok := str(inputs, "dir"); ok {
		cmd.Dir = dir
	}
	if stdin, ok := str(inputs, "stdin"); ok {
		cmd.Stdin = strings.NewReader(stdin)
	}
	logging, ok := str(inputs, "logging")
	if !ok {
		logging = "stdoutAndStderr"
	}
	var stdout, stderr, both bytes.Buffer
	mu := &sync.Mutex{}
	log := &engineLog{p: p, ctx: ctx, urn: urn, mu: mu}
	outs := []io.Writer{&stdout, &locked{mu: mu, w: &both}}
	errs := []io.Writer{&stderr, &locked{mu: mu, w: &both}}
	if logging == "stdout" || logging == "stdoutAndStderr" {
		outs = append(outs, log)
	}
	if logging == "stderr" || logging == "stdoutAndStderr" {
		errs = append(errs, log)
	}
	cmd.Stdout, cmd.Stderr = io.MultiWriter(outs...), io.MultiWriter(errs...)
	if err := cmd.Run(); err != nil {
		// The error reaches the engine's log and history: no secret input may be in it.
		return "", "", fmt.Errorf("%w: running %q:\n%s", err, mask(command, inputs), mask(both.String(), inputs))
	}
	return strings.TrimSuffix(stdout.String(), "\n"), strings.TrimSuffix(stderr.String(), "\n"), nil
}

// mask replaces every secret input's text in s.
func mask(s string, inputs resource.PropertyMap) string {
	var walk func(v resource.PropertyValue, secret bool)
	walk = func(v resource.PropertyValue, secret bool) {
		switch {
		case v.IsSecret():
			walk(v.SecretValue().Element, true)
		case v.IsString() && secret && len(v.StringValue()) >= 4:
			s = strings.ReplaceAll(s, v.StringValue(), "[secret]")
		case v.IsArray():
			for _, e := range v.ArrayValue() {
				walk(e, secret)
			}
		case v.IsObject():
			for _, e := range v.ObjectValue() {
				walk(e, secret)
			}
		}
	}
	walk(resource.NewObjectProperty(inputs), false)
	return s
}

type locked struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *locked) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
