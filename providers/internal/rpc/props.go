package rpc

import (
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

var wire = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}

// Props reads properties as the engine sends them, secrets and unknowns kept.
func Props(s *structpb.Struct) (resource.PropertyMap, error) {
	return plugin.UnmarshalProperties(s, wire)
}

// Struct writes properties for the engine, secrets and unknowns kept.
func Struct(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, wire)
}

// Plain is v with every secret unwrapped, for comparing values.
func Plain(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return Plain(v.SecretValue().Element)
	case v.IsArray():
		out := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			out[i] = Plain(e)
		}
		return resource.NewArrayProperty(out)
	case v.IsObject():
		out := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			out[k] = Plain(e)
		}
		return resource.NewObjectProperty(out)
	}
	return v
}

// HasSecret says whether any value in m is secret.
func HasSecret(m resource.PropertyMap) bool { return resource.NewObjectProperty(m).ContainsSecrets() }

// Changed lists the top-level keys whose values differ between olds and news (secretness
// aside); a value not yet known counts as changed.
func Changed(olds, news resource.PropertyMap) []string {
	var out []string
	for k := range unionKeys(olds, news) {
		o, n := olds[k], news[k]
		if o.ContainsUnknowns() || n.ContainsUnknowns() || !Plain(o).DeepEquals(Plain(n)) {
			out = append(out, string(k))
		}
	}
	sort.Strings(out)
	return out
}

func unionKeys(a, b resource.PropertyMap) map[resource.PropertyKey]bool {
	keys := map[resource.PropertyKey]bool{}
	for k, v := range a {
		if !v.IsNull() {
			keys[k] = true
		}
	}
	for k, v := range b {
		if !v.IsNull() {
			keys[k] = true
		}
	}
	return keys
}

// Diff answers the engine's Diff for the changed keys: a change to a key in replaceOn
// replaces the resource, any other updates it in place.
func Diff(changed []string, replaceOn map[string]bool) *pulumirpc.DiffResponse {
	resp := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true,
		DetailedDiff: map[string]*pulumirpc.PropertyDiff{}}
	for _, k := range changed {
		kind := pulumirpc.PropertyDiff_UPDATE
		if replaceOn[k] {
			kind = pulumirpc.PropertyDiff_UPDATE_REPLACE
			resp.Replaces = append(resp.Replaces, k)
		}
		resp.Diffs = append(resp.Diffs, k)
		resp.DetailedDiff[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return resp
}

// ChangedInputs lists the inputs a Diff request changes, against the inputs the resource
// was last created or updated with (older states carry only outputs, which hold them too).
func ChangedInputs(req *pulumirpc.DiffRequest) ([]string, error) {
	old := req.GetOldInputs()
	if old == nil {
		old = req.GetOlds()
	}
	olds, err := Props(old)
	if err != nil {
		return nil, err
	}
	news, err := Props(req.GetNews())
	if err != nil {
		return nil, err
	}
	return Changed(olds, news), nil
}
