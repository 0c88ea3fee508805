package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLocateWalksUpAsNodeDoes(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "node_modules/@pulumi/pulumi/cmd/run/index.js"), "")
	program := filepath.Join(root, "stacks", "deep")
	if err := os.MkdirAll(program, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := locate("@pulumi/pulumi/cmd/run", program)
	if err != nil || got != filepath.Join(root, "node_modules/@pulumi/pulumi/cmd/run/index.js") {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := locate("@pulumi/pulumi/cmd/run-policy-pack", program); err == nil || !strings.Contains(err.Error(), "npm ci") {
		t.Fatalf("a missing script must name the fix, got %v", err)
	}
}

func TestRequiredPackagesAreTheResourcePackagesAtTheirPluginVersions(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "node_modules/@pulumi/docker/package.json"), `{"name":"@pulumi/docker","version":"5.0.0","pulumi":{"resource":true,"name":"docker","version":"5.0.0"}}`)
	write(t, filepath.Join(root, "node_modules/@pulumi/pulumi/package.json"), `{"name":"@pulumi/pulumi","version":"3.248.0"}`)
	write(t, filepath.Join(root, "node_modules/zod/package.json"), `{"name":"zod","version":"4.0.0"}`)
	resp, err := (&host{}).GetRequiredPackages(context.Background(), &pulumirpc.GetRequiredPackagesRequest{Info: &pulumirpc.ProgramInfo{ProgramDirectory: root}})
	if err != nil || len(resp.Packages) != 1 || resp.Packages[0].Name != "docker" || resp.Packages[0].Version != "v5.0.0" || resp.Packages[0].Kind != "resource" {
		t.Fatalf("got %v, %v", resp.GetPackages(), err)
	}
}
