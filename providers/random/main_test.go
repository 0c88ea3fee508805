package main

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func TestGenerateKeepsLengthAndEachClassMinimum(t *testing.T) {
	s := readPasswordSpec(resource.PropertyMap{
		"length": resource.NewNumberProperty(12), "minUpper": resource.NewNumberProperty(3),
		"minNumeric": resource.NewNumberProperty(4), "minSpecial": resource.NewNumberProperty(2),
		"overrideSpecial": resource.NewStringProperty("#"),
	})
	for i := 0; i < 200; i++ {
		p, err := s.generate()
		if err != nil {
			t.Fatal(err)
		}
		count := func(set string) int {
			return len(p) - len(strings.Map(func(r rune) rune {
				if strings.ContainsRune(set, r) {
					return -1
				}
				return r
			}, p))
		}
		if len(p) != 12 || count("ABCDEFGHIJKLMNOPQRSTUVWXYZ") < 3 || count("0123456789") < 4 || count("#") < 2 || strings.ContainsAny(p, "!@$%") {
			t.Fatalf("password %q breaks its spec", p)
		}
	}
}

func TestDisabledClassesNeverAppear(t *testing.T) {
	s := readPasswordSpec(resource.PropertyMap{"length": resource.NewNumberProperty(64),
		"special": resource.NewBoolProperty(false), "number": resource.NewBoolProperty(false), "upper": resource.NewBoolProperty(false)})
	p, err := s.generate()
	if err != nil || strings.Trim(p, "abcdefghijklmnopqrstuvwxyz") != "" {
		t.Fatalf("got %q, %v: want lower case only", p, err)
	}
}

func TestProblemsNameTheProperty(t *testing.T) {
	for _, tc := range []struct {
		inputs resource.PropertyMap
		prop   string
	}{
		{resource.PropertyMap{}, "length"},
		{resource.PropertyMap{"length": resource.NewNumberProperty(0)}, "length"},
		{resource.PropertyMap{"length": resource.NewNumberProperty(4), "minUpper": resource.NewNumberProperty(5)}, "length"},
		{resource.PropertyMap{"length": resource.NewNumberProperty(4), "lower": resource.NewBoolProperty(false), "upper": resource.NewBoolProperty(false),
			"numeric": resource.NewBoolProperty(false), "special": resource.NewBoolProperty(false)}, "special"},
	} {
		got := passwordProblems(tc.inputs)
		if len(got) != 1 || got[0].Property != tc.prop {
			t.Errorf("%v: got %v, want one failure on %s", tc.inputs, got, tc.prop)
		}
	}
	if got := passwordProblems(resource.PropertyMap{"length": resource.MakeComputed(resource.NewStringProperty(""))}); len(got) != 0 {
		t.Errorf("an unknown length is checked once known, got %v", got)
	}
}
