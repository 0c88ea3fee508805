// pulumi-resource-docker: the docker provider plugin that @pulumi/docker 5.0.0 talks to,
// for machines that cannot download the official one. It serves the Terraform docker
// provider (kreuzwerker/terraform-provider-docker, from the Go module proxy) through
// pulumi-terraform-bridge, with this project's own mapping of Terraform names to the
// type tokens and property names the npm SDK sends. The container, network, volume and
// image logic is upstream's; this file only says what each thing is called.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shim "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// version is what @pulumi/docker's package.json asks for (pulumi.version); setup passes it.
var version = "5.0.0"

// resources: Terraform resource -> the SDK's resource name (module index).
var resources = map[string]string{
	"docker_container":      "Container",
	"docker_image":          "RemoteImage",
	"docker_registry_image": "RegistryImage",
	"docker_network":        "Network",
	"docker_volume":         "Volume",
	"docker_config":         "ServiceConfig",
	"docker_secret":         "Secret",
	"docker_service":        "Service",
	"docker_plugin":         "Plugin",
	"docker_tag":            "Tag",
	"docker_buildx_builder": "BuildxBuilder",
}

// dataSources: Terraform data source -> the SDK's function name.
var dataSources = map[string]string{
	"docker_registry_image":           "getRegistryImage",
	"docker_network":                  "getNetwork",
	"docker_plugin":                   "getPlugin",
	"docker_image":                    "getRemoteImage",
	"docker_logs":                     "getLogs",
	"docker_registry_image_manifests": "getRegistryImageManifests",
}

// Names the SDK spells otherwise than the bridge's default (the plural of a list) would.
var configFields = map[string]*tfbridge.SchemaInfo{
	"registry_auth": {Name: "registryAuth"},
}

var fields = map[string]map[string]*tfbridge.SchemaInfo{
	"docker_container": {
		"command":           {Name: "command"},
		"networks_advanced": {Name: "networksAdvanced"},
	},
}

func lowerFirst(s string) string { return string(s[0]+'a'-'A') + s[1:] }

func providerInfo() tfbridge.ProviderInfo {
	p := shimv2.NewProvider(provider.New(version)())
	info := tfbridge.ProviderInfo{
		P:           p,
		Name:        "docker",
		Version:     version,
		Config:      configFields,
		Resources:   map[string]*tfbridge.ResourceInfo{},
		DataSources: map[string]*tfbridge.DataSourceInfo{},
	}
	for tf, name := range resources {
		info.Resources[tf] = &tfbridge.ResourceInfo{
			Tok:    tokens.Type(fmt.Sprintf("docker:index/%s:%s", lowerFirst(name), name)),
			Fields: fields[tf],
		}
	}
	for tf, name := range dataSources {
		info.DataSources[tf] = &tfbridge.DataSourceInfo{
			Tok: tokens.ModuleMember(fmt.Sprintf("docker:index/%s:%s", name, name)),
		}
	}
	return info
}

// inputProperties maps, per type token, each input property the plugin takes, under the
// name the SDK must send, to its own properties (for an object) or true: what the
// conformance test holds against the SDK's types.
func inputProperties(info tfbridge.ProviderInfo) map[string]map[string]any {
	var names func(m shim.SchemaMap, fields map[string]*tfbridge.SchemaInfo) map[string]any
	names = func(m shim.SchemaMap, fields map[string]*tfbridge.SchemaInfo) map[string]any {
		out := map[string]any{}
		m.Range(func(key string, s shim.Schema) bool {
			if !s.Required() && !s.Optional() {
				return true
			}
			var value any = true
			if elem, ok := s.Elem().(shim.Resource); ok {
				var sub map[string]*tfbridge.SchemaInfo
				if f := fields[key]; f != nil {
					sub = f.Fields
					if f.Elem != nil && f.Elem.Fields != nil {
						sub = f.Elem.Fields
					}
				}
				value = names(elem.Schema(), sub)
			}
			out[tfbridge.TerraformToPulumiNameV2(key, m, fields)] = value
			return true
		})
		return out
	}
	out := map[string]map[string]any{"pulumi:providers:docker": names(info.P.Schema(), info.Config)}
	for tf, r := range info.Resources {
		out[string(r.Tok)] = names(info.P.ResourcesMap().Get(tf).Schema(), r.Fields)
	}
	return out
}

func main() {
	info := providerInfo()
	if len(os.Args) == 2 && os.Args[1] == "--input-properties" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(inputProperties(info)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	// No schema: the engine needs none to run a program (GetSchema answers empty).
	tfbridge.Main("docker", version, info, nil)
}
