package apigw

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Local values of the pseudo parameters, as `sam local` uses them.
const (
	LocalAccountID = "123456789012"
	LocalRegion    = "us-east-1"
	LocalStackName = "local"
)

// defaultTimeout is SAM's default function timeout.
const defaultTimeout = 3 * time.Second

// Template is the part of a SAM template that the emulator needs: the
// functions, their HttpApi routes and their resolved environment.
type Template struct {
	// Parameters are the template's parameters with their resolved values
	// (override, else Default).
	Parameters map[string]string
	// Functions are the AWS::Serverless::Function resources by logical id.
	Functions map[string]*FunctionResource
	// Routes are every HttpApi event of every function, in a stable order.
	Routes []Route
	// Tables are the AWS::DynamoDB::Table resources by logical id, mapped to
	// their table names (TableName, else the logical id, as Ref gives).
	Tables map[string]string
}

// FunctionResource is one AWS::Serverless::Function with Globals applied.
type FunctionResource struct {
	// LogicalID is the resource's logical id, e.g. "SendFunction".
	LogicalID string
	// CodeURI is the function's CodeUri.
	CodeURI string
	// Handler is the function's Handler ("bootstrap" for provided runtimes).
	Handler string
	// Runtime is the function's Runtime, e.g. "provided.al2023".
	Runtime string
	// Timeout is the function's timeout (SAM's default is 3 s).
	Timeout time.Duration
	// MemorySize is the function's memory in MB (SAM's default is 128).
	MemorySize int
	// Environment is Globals' and the function's Environment.Variables with
	// intrinsic functions resolved, before any local override.
	Environment map[string]string
	// Routes are the function's HttpApi events.
	Routes []Route
}

// Route is one HttpApi route: a method and a path template, or $default.
type Route struct {
	// Method is an upper-case HTTP method or "ANY"; empty for $default.
	Method string
	// Path is the route path, e.g. "/room/{room}/events"; empty for $default.
	Path string
	// Function is the logical id of the function the route invokes.
	Function string
}

// Key returns the API Gateway route key: "GET /room/{room}" or "$default".
func (r Route) Key() string {
	if r.Path == "" {
		return "$default"
	}
	return r.Method + " " + r.Path
}

// LoadTemplate reads and parses the SAM template at path; params override the
// template parameters' defaults, like `sam --parameter-overrides`.
func LoadTemplate(path string, params map[string]string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("apigw: read template %s: %w", path, err)
	}
	t, err := ParseTemplate(b, params)
	if err != nil {
		return nil, fmt.Errorf("apigw: template %s: %w", path, err)
	}
	return t, nil
}

// ParseTemplate parses a SAM template; params override the template
// parameters' defaults. CloudFormation's short-form intrinsic tags (!Ref,
// !Sub, !GetAtt, !If, ...) and their long forms are resolved in the parts it
// reads; a parameter without a value resolves to "".
func ParseTemplate(data []byte, params map[string]string) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	if len(root.Content) == 0 {
		return nil, errors.New("apigw: empty template")
	}
	doc, ok := nodeValue(root.Content[0]).(map[string]any)
	if !ok {
		return nil, errors.New("apigw: template is not a mapping")
	}
	r := &resolver{
		params:     map[string]string{},
		resources:  map[string]string{},
		mappings:   asMap(doc["Mappings"]),
		conditions: asMap(doc["Conditions"]),
		condCache:  map[string]bool{},
	}
	for name, p := range asMap(doc["Parameters"]) {
		v := ""
		if d, ok := asMap(p)["Default"]; ok {
			v = scalarString(d)
		}
		if o, ok := params[name]; ok {
			v = o
		}
		r.params[name] = v
	}
	t := &Template{
		Parameters: r.params,
		Functions:  map[string]*FunctionResource{},
		Tables:     map[string]string{},
	}
	resources := asMap(doc["Resources"])
	// Ref to a resource gives its physical name; locally that is the
	// explicit name property when it is a plain string, else the logical id.
	for id, res := range resources {
		props := asMap(asMap(res)["Properties"])
		name := id
		for _, k := range []string{"TableName", "FunctionName", "Name"} {
			if s, ok := props[k].(string); ok && s != "" {
				name = s
			}
		}
		r.resources[id] = name
	}
	for id, res := range resources {
		if asMap(res)["Type"] == "AWS::DynamoDB::Table" {
			name, err := r.resolveString(asMap(asMap(res)["Properties"])["TableName"])
			if err != nil {
				return nil, fmt.Errorf("table %s: %w", id, err)
			}
			if name == "" {
				name = id
			}
			r.resources[id] = name
			t.Tables[id] = name
		}
	}
	globals := asMap(asMap(doc["Globals"])["Function"])
	ids := make([]string, 0, len(resources))
	for id := range resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		res := asMap(resources[id])
		if res["Type"] != "AWS::Serverless::Function" {
			continue
		}
		fn, err := r.function(id, asMap(res["Properties"]), globals)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", id, err)
		}
		t.Functions[id] = fn
		t.Routes = append(t.Routes, fn.Routes...)
	}
	return t, nil
}

// function builds one Function from its properties with Globals applied:
// scalars from the function win, Environment.Variables are merged.
func (r *resolver) function(id string, props, globals map[string]any) (*FunctionResource, error) {
	fn := &FunctionResource{LogicalID: id, Timeout: defaultTimeout, MemorySize: 128, Environment: map[string]string{}}
	get := func(key string) any {
		if v, ok := props[key]; ok {
			return v
		}
		return globals[key]
	}
	var err error
	if fn.CodeURI, err = r.resolveString(get("CodeUri")); err != nil {
		return nil, fmt.Errorf("CodeUri: %w", err)
	}
	if fn.Handler, err = r.resolveString(get("Handler")); err != nil {
		return nil, fmt.Errorf("Handler: %w", err)
	}
	if fn.Runtime, err = r.resolveString(get("Runtime")); err != nil {
		return nil, fmt.Errorf("Runtime: %w", err)
	}
	if v := get("Timeout"); v != nil {
		s, err := r.resolveString(v)
		if err != nil {
			return nil, fmt.Errorf("Timeout: %w", err)
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("Timeout %q: %w", s, err)
		}
		fn.Timeout = time.Duration(n) * time.Second
	}
	if v := get("MemorySize"); v != nil {
		s, err := r.resolveString(v)
		if err != nil {
			return nil, fmt.Errorf("MemorySize: %w", err)
		}
		if fn.MemorySize, err = strconv.Atoi(s); err != nil {
			return nil, fmt.Errorf("MemorySize %q: %w", s, err)
		}
	}
	for _, src := range []map[string]any{globals, props} {
		vars, err := r.resolve(asMap(asMap(src["Environment"])["Variables"]))
		if err != nil {
			return nil, fmt.Errorf("Environment: %w", err)
		}
		for k, v := range asMap(vars) {
			fn.Environment[k] = scalarString(v)
		}
	}
	evNames := make([]string, 0)
	events := asMap(props["Events"])
	for name := range events {
		evNames = append(evNames, name)
	}
	sort.Strings(evNames)
	for _, name := range evNames {
		ev := asMap(events[name])
		if ev["Type"] != "HttpApi" {
			continue
		}
		evProps, err := r.resolve(ev["Properties"])
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", name, err)
		}
		p := asMap(evProps)
		route := Route{Function: id}
		path := scalarString(p["Path"])
		method := strings.ToUpper(scalarString(p["Method"]))
		// SAM: an HttpApi event without Path and Method is the $default route.
		if path != "" && path != "$default" {
			if method == "" || method == "X-AMAZON-APIGATEWAY-ANY-METHOD" {
				method = "ANY"
			}
			if _, err := parsePattern(path); err != nil {
				return nil, fmt.Errorf("event %s: %w", name, err)
			}
			route.Method, route.Path = method, path
		}
		fn.Routes = append(fn.Routes, route)
	}
	return fn, nil
}

// Environment returns the environment of the function with that logical id:
// its template environment with the overrides of env applied the way
// `sam local --env-vars` applies them. Like SAM, only variables the template
// declares are overridden; the names of other overrides are returned in
// ignored so a caller can warn about them.
func (t *Template) Environment(logicalID string, env EnvVars) (vars map[string]string, ignored []string, err error) {
	fn, ok := t.Functions[logicalID]
	if !ok {
		return nil, nil, fmt.Errorf("apigw: environment of %s: no such function", logicalID)
	}
	vars = make(map[string]string, len(fn.Environment))
	for k, v := range fn.Environment {
		vars[k] = v
	}
	for _, layer := range []map[string]string{env["Parameters"], env[logicalID]} {
		keys := make([]string, 0, len(layer))
		for k := range layer {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, declared := fn.Environment[k]; !declared {
				ignored = append(ignored, k)
				continue
			}
			vars[k] = layer[k]
		}
	}
	return vars, ignored, nil
}

// FunctionIDs returns the logical ids of the template's functions, sorted.
func (t *Template) FunctionIDs() []string {
	ids := make([]string, 0, len(t.Functions))
	for id := range t.Functions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// nodeValue turns a YAML node into plain Go values. CloudFormation short-form
// tags become their long form: !Ref x → {"Ref": x}, !Condition x →
// {"Condition": x}, !GetAtt a.b → {"Fn::GetAtt": "a.b"}, any other !Name →
// {"Fn::Name": ...}.
func nodeValue(n *yaml.Node) any {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return nodeValue(n.Content[0])
	case yaml.AliasNode:
		return nodeValue(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = nodeValue(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			s = append(s, nodeValue(c))
		}
		v = s
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			v = nil
		} else {
			v = n.Value
		}
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		name := n.Tag[1:]
		switch name {
		case "Ref", "Condition":
			return map[string]any{name: v}
		default:
			return map[string]any{"Fn::" + name: v}
		}
	}
	return v
}

// asMap returns v as a mapping, or nil.
func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// scalarString renders a resolved scalar as an environment value.
func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}
