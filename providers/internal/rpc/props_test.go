package rpc

import (
	"reflect"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestChangedIgnoresSecretnessAndCountsUnknowns(t *testing.T) {
	olds := resource.PropertyMap{"a": resource.NewStringProperty("x"), "b": resource.NewStringProperty("y"), "c": resource.NewStringProperty("z")}
	news := resource.PropertyMap{"a": resource.MakeSecret(resource.NewStringProperty("x")), "b": resource.MakeComputed(resource.NewStringProperty("")),
		"d": resource.NewStringProperty("new")}
	if got := Changed(olds, news); !reflect.DeepEqual(got, []string{"b", "c", "d"}) {
		t.Fatalf("got %v", got)
	}
}

func TestDiffReplacesOnlyOnTheKeysNamed(t *testing.T) {
	d := Diff([]string{"stdin", "triggers"}, map[string]bool{"triggers": true})
	if d.Changes != pulumirpc.DiffResponse_DIFF_SOME || !reflect.DeepEqual(d.Replaces, []string{"triggers"}) ||
		d.DetailedDiff["stdin"].Kind != pulumirpc.PropertyDiff_UPDATE {
		t.Fatalf("got %v", d)
	}
	if Diff(nil, nil).Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatal("no change must be DIFF_NONE")
	}
}
