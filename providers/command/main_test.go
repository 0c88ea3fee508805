package main

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func TestMaskHidesEverySecretInput(t *testing.T) {
	inputs := resource.PropertyMap{
		"stdin":       resource.MakeSecret(resource.NewStringProperty("s3cret-key")),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"TOKEN": resource.MakeSecret(resource.NewStringProperty("tok-123"))}),
		"create":      resource.NewStringProperty("cat"),
	}
	got := mask("printed s3cret-key and tok-123 by cat", inputs)
	if got != "printed [secret] and [secret] by cat" {
		t.Fatalf("got %q", got)
	}
}
