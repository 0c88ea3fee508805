// pulumi-resource-random: the random provider plugin @pulumi/random 4.21.1 talks to, for
// machines that cannot download the official one. It implements the two resources the
// project uses, RandomPassword and RandomBytes, with the official plugin's inputs,
// defaults, outputs and IDs; every input change replaces (as upstream: all are ForceNew).
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/types/known/emptypb"

	hrpc "hyperscaler.local/providers/internal/rpc"
)

const (
	passwordToken = "random:index/randomPassword:RandomPassword"
	bytesToken    = "random:index/randomBytes:RandomBytes"
	// Upstream's default special characters.
	defaultSpecial = "!@#$%&*()-_=+[]{}<>:?"
)

type randomProvider struct{ hrpc.Provider }

// version is what @pulumi/random's package.json asks for (pulumi.version); setup passes it.
var version = "4.21.1"

func main() {
	hrpc.Main(&randomProvider{hrpc.Provider{Name: "random", Version: version}})
}

func (p *randomProvider) supported(token string) error {
	if token == passwordToken || token == bytesToken {
		return nil
	}
	return p.Unsupported(token, passwordToken, bytesToken)
}

// passwordSpec is a RandomPassword's inputs with upstream's defaults applied.
type passwordSpec struct {
	length                                     int
	lower, upper, numeric, special             bool
	minLower, minUpper, minNumeric, minSpecial int
	specialChars                               string
}

func num(m resource.PropertyMap, key string, def int) int {
	if v, ok := m[resource.PropertyKey(key)]; ok && hrpc.Plain(v).IsNumber() {
		return int(hrpc.Plain(v).NumberValue())
	}
	return def
}

func flag(m resource.PropertyMap, key string, def bool) bool {
	if v, ok := m[resource.PropertyKey(key)]; ok && hrpc.Plain(v).IsBool() {
		return hrpc.Plain(v).BoolValue()
	}
	return def
}

func readPasswordSpec(m resource.PropertyMap) passwordSpec {
	s := passwordSpec{
		length: num(m, "length", 0),
		lower:  flag(m, "lower", true), upper: flag(m, "upper", true), special: flag(m, "special", true),
		// `number` is the deprecated spelling of `numeric`: false in either turns digits off.
		numeric:  flag(m, "numeric", true) && flag(m, "number", true),
		minLower: num(m, "minLower", 0), minUpper: num(m, "minUpper", 0),
		minNumeric: num(m, "minNumeric", 0), minSpecial: num(m, "minSpecial", 0),
		specialChars: defaultSpecial,
	}
	if v, ok := m["overrideSpecial"]; ok && hrpc.Plain(v).IsString() {
		s.specialChars = hrpc.Plain(v).StringValue()
	}
	return s
}

// problems lists what is wrong with the inputs, by property, as Check reports them.
func passwordProblems(m resource.PropertyMap) []*pulumirpc.CheckFailure {
	var out []*pulumirpc.CheckFailure
	fail := func(prop, format string, args ...any) {
		out = append(out, &pulumirpc.CheckFailure{Property: prop, Reason: fmt.Sprintf(format, args...)})
	}
	if v, ok := m["length"]; !ok || v.IsNull() {
		fail("length", "missing required property 'length'")
		return out
	}
	for _, k := range []string{"length", "minLower", "minUpper", "minNumeric", "minSpecial"} {
		if v, ok := m[resource.PropertyKey(k)]; ok && v.ContainsUnknowns() {
			return out // checked again once known
		}
	}
	s := readPasswordSpec(m)
	if s.length < 1 {
		fail("length", "length must be at least 1, got %d", s.length)
	}
	if sum := s.minLower + s.minUpper + s.minNumeric + s.minSpecial; sum > s.length {
		fail("length", "length (%d) must be >= minUpper + minLower + minNumeric + minSpecial (%d)", s.length, sum)
	}
	if !s.lower && !s.upper && !s.numeric && !s.special {
		fail("special", "at least one of lower, upper, numeric and special must be true")
	}
	return out
}

func pick(set string, n int) ([]byte, error) {
	out := make([]byte, n)
	for i := range out {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return nil, err
		}
		out[i] = set[j.Int64()]
	}
	return out, nil
}

// generate draws each class's minimum first, the rest from every enabled class, then shuffles.
func (s passwordSpec) generate() (string, error) {
	var all string
	var out []byte
	for _, class := range []struct {
		on  bool
		set string
		min int
	}{
		{s.upper, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", s.minUpper}, {s.lower, "abcdefghijklmnopqrstuvwxyz", s.minLower},
		{s.numeric, "0123456789", s.minNumeric}, {s.special, s.specialChars, s.minSpecial},
	} {
		if !class.on || class.set == "" {
			continue
		}
		all += class.set
		b, err := pick(class.set, class.min)
		if err != nil {
			return "", err
		}
		out = append(out, b...)
	}
	rest, err := pick(all, s.length-len(out))
	if err != nil {
		return "", err
	}
	out = append(out, rest...)
	for i := len(out) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		out[i], out[j.Int64()] = out[j.Int64()], out[i]
	}
	return string(out), nil
}

// passwordState is the state upstream keeps: the inputs with defaults, the result and its bcrypt hash.
func passwordState(inputs resource.PropertyMap, s passwordSpec, result string) (resource.PropertyMap, error) {
	// bcrypt reads 72 bytes at most, and refuses more: hash what it reads (a 1024-character
	// MUNGE key has a hash too, as upstream's has).
	material := []byte(result)
	if len(material) > 72 {
		material = material[:72]
	}
	hash, err := bcrypt.GenerateFromPassword(material, bcrypt.DefaultCost)
	if err != nil {
		return nil, err
	}
	state := inputs.Copy()
	for k, v := range map[string]resource.PropertyValue{
		"length": resource.NewNumberProperty(float64(s.length)),
		"lower":  resource.NewBoolProperty(s.lower), "upper": resource.NewBoolProperty(s.upper),
		"numeric": resource.NewBoolProperty(s.numeric), "number": resource.NewBoolProperty(s.numeric),
		"special":  resource.NewBoolProperty(s.special),
		"minLower": resource.NewNumberProperty(float64(s.minLower)), "minUpper": resource.NewNumberProperty(float64(s.minUpper)),
		"minNumeric": resource.NewNumberProperty(float64(s.minNumeric)), "minSpecial": resource.NewNumberProperty(float64(s.minSpecial)),
	} {
		if _, given := state[resource.PropertyKey(k)]; !given {
			state[resource.PropertyKey(k)] = v
		}
	}
	state["result"] = resource.MakeSecret(resource.NewStringProperty(result))
	state["bcryptHash"] = resource.MakeSecret(resource.NewStringProperty(string(hash)))
	return state, nil
}

func bytesState(inputs resource.PropertyMap, b []byte) resource.PropertyMap {
	state := inputs.Copy()
	state["base64"] = resource.MakeSecret(resource.NewStringProperty(base64.StdEncoding.EncodeToString(b)))
	state["hex"] = resource.MakeSecret(resource.NewStringProperty(hex.EncodeToString(b)))
	return state
}

func (p *randomProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	token := resource.URN(req.GetUrn()).Type().String()
	if err := p.supported(token); err != nil {
		return nil, err
	}
	news, err := hrpc.Props(req.GetNews())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	if token == passwordToken {
		failures = passwordProblems(news)
	} else if v, ok := news["length"]; !ok || v.IsNull() {
		failures = append(failures, &pulumirpc.CheckFailure{Property: "length", Reason: "missing required property 'length'"})
	} else if !v.ContainsUnknowns() && num(news, "length", 0) < 1 {
		failures = append(failures, &pulumirpc.CheckFailure{Property: "length", Reason: fmt.Sprintf("length must be at least 1, got %d", num(news, "length", 0))})
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

func (p *randomProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	changed, err := hrpc.ChangedInputs(req)
	if err != nil {
		return nil, err
	}
	replace := map[string]bool{}
	for _, k := range changed {
		replace[k] = true
	}
	return hrpc.Diff(changed, replace), nil
}

func (p *randomProvider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	token := resource.URN(req.GetUrn()).Type().String()
	if err := p.supported(token); err != nil {
		return nil, err
	}
	inputs, err := hrpc.Props(req.GetProperties())
	if err != nil {
		return nil, err
	}
	var state resource.PropertyMap
	id := "none"
	if token == passwordToken {
		s := readPasswordSpec(inputs)
		if req.GetPreview() {
			state = inputs.Copy()
			state["result"] = resource.MakeComputed(resource.NewStringProperty(""))
			state["bcryptHash"] = resource.MakeComputed(resource.NewStringProperty(""))
		} else {
			result, err := s.generate()
			if err != nil {
				return nil, err
			}
			if state, err = passwordState(inputs, s, result); err != nil {
				return nil, err
			}
		}
	} else {
		if req.GetPreview() {
			state = inputs.Copy()
			state["base64"] = resource.MakeComputed(resource.NewStringProperty(""))
			state["hex"] = resource.MakeComputed(resource.NewStringProperty(""))
			id = ""
		} else {
			b := make([]byte, num(inputs, "length", 0))
			if _, err := rand.Read(b); err != nil {
				return nil, err
			}
			state = bytesState(inputs, b)
			// Upstream's ID is the value itself (why the project never uses it for a secret).
			id = base64.StdEncoding.EncodeToString(b)
		}
	}
	out, err := hrpc.Struct(state)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: out}, nil
}

// Read returns the state as it is (nothing outside the state can change), or, for an
// import, builds it from the ID: the password itself, or the bytes in base64.
func (p *randomProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	token := resource.URN(req.GetUrn()).Type().String()
	if err := p.supported(token); err != nil {
		return nil, err
	}
	if len(req.GetProperties().GetFields()) > 0 {
		inputs := req.GetInputs()
		if inputs == nil {
			inputs = req.GetProperties()
		}
		return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: inputs}, nil
	}
	var state resource.PropertyMap
	id := req.GetId()
	if token == passwordToken {
		s := readPasswordSpec(resource.PropertyMap{"length": resource.NewNumberProperty(float64(len(id)))})
		var err error
		if state, err = passwordState(resource.PropertyMap{"length": resource.NewNumberProperty(float64(len(id)))}, s, id); err != nil {
			return nil, err
		}
		id = "none"
	} else {
		b, err := base64.StdEncoding.DecodeString(id)
		if err != nil {
			return nil, fmt.Errorf("importing RandomBytes: the ID must be the bytes in base64: %w", err)
		}
		state = bytesState(resource.PropertyMap{"length": resource.NewNumberProperty(float64(len(b)))}, b)
	}
	out, err := hrpc.Struct(state)
	if err != nil {
		return nil, err
	}
	inputs, err := hrpc.Struct(resource.PropertyMap{"length": state["length"]})
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: id, Properties: out, Inputs: inputs}, nil
}

// Update never happens: every change replaces.
func (p *randomProvider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	return nil, fmt.Errorf("%s cannot be updated in place: every input change replaces it", req.GetUrn())
}

func (p *randomProvider) Delete(context.Context, *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
