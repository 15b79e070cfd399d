package functions_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"gopkg.in/yaml.v3"

	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/internal/dynamo"
	"github.com/fanout-chat/serverless-chat/internal/grip"
	"github.com/fanout-chat/serverless-chat/internal/handler"
	"github.com/fanout-chat/serverless-chat/internal/handler/stream"
	"github.com/fanout-chat/serverless-chat/internal/secrets"
)

var templatePath = filepath.Join("..", "template.yaml")

// handlerRoutes is what each function's handler serves, from the lists that
// also register the handlers' muxes.
func handlerRoutes() map[string][]handler.Route {
	return map[string][]handler.Route{
		"SendFunction":    handler.SendRoutes(),
		"HistoryFunction": handler.HistoryRoutes(),
		"StreamFunction":  stream.Routes(),
	}
}

// rawTemplate decodes template.yaml
// not model (Globals, SAM policy templates): scalars become strings and a
// short-form intrinsic (!Ref X) becomes {"Ref": X}.
func rawTemplate(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("parse %s: %v", templatePath, err)
	}
	m, ok := nodeValue(doc.Content[0]).(map[string]any)
	if !ok {
		t.Fatal("template is not a mapping")
	}
	return m
}

func nodeValue(n *yaml.Node) any {
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = nodeValue(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		var s []any
		for _, c := range n.Content {
			s = append(s, nodeValue(c))
		}
		v = s
	case yaml.AliasNode:
		return nodeValue(n.Alias)
	default:
		v = n.Value
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		name := strings.TrimPrefix(n.Tag, "!")
		if name != "Ref" && name != "Condition" {
			name = "Fn::" + name
		}
		return map[string]any{name: v}
	}
	return v
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// TestTemplateRoutes checks that every route a handler serves is an HttpApi
// event of its function in template.yaml, and that every HttpApi event of
// those functions is served by their handler.
func TestTemplateRoutes(t *testing.T) {
	t.Parallel()
	raw := rawTemplate(t)
	resources, _ := dig(raw, "Resources").(map[string]any)
	fns := map[string]any{}
	for id, r := range resources {
		if dig(r, "Type") == "AWS::Serverless::Function" {
			fns[id] = r
		}
	}
	seen := map[string]string{} // route key → function
	for id, fn := range fns {
		var got []string
		events, _ := dig(fn, "Properties", "Events").(map[string]any)
		for name, ev := range events {
			if dig(ev, "Type") != "HttpApi" {
				continue
			}
			method, _ := dig(ev, "Properties", "Method").(string)
			path, _ := dig(ev, "Properties", "Path").(string)
			if method == "" || path == "" {
				t.Errorf("%s event %s: HttpApi without Method and Path", id, name)
				continue
			}
			if api := dig(ev, "Properties", "ApiId", "Ref"); api != "ChatApi" {
				t.Errorf("%s event %s: ApiId = %v, want Ref ChatApi", id, name, dig(ev, "Properties", "ApiId"))
			}
			key := strings.ToUpper(method) + " " + path
			if other, dup := seen[key]; dup {
				t.Errorf("route %s is on both %s and %s", key, other, id)
			}
			seen[key] = id
			got = append(got, key)
		}
		want, ours := handlerRoutes()[id]
		if !ours {
			continue
		}
		var wantKeys []string
		for _, r := range want {
			wantKeys = append(wantKeys, r.Pattern())
		}
		sort.Strings(got)
		sort.Strings(wantKeys)
		if !slices.Equal(got, wantKeys) {
			t.Errorf("%s: template routes %q, handler routes %q", id, got, wantKeys)
		}
	}
	for id := range handlerRoutes() {
		if _, ok := fns[id]; !ok {
			t.Errorf("template has no %s", id)
		}
	}
	if _, ok := fns["WebFunction"]; !ok {
		t.Error("template has no WebFunction")
	}
	if got := dig(resources, "ChatApi", "Type"); got != "AWS::Serverless::HttpApi" {
		t.Errorf("ChatApi Type = %v, want AWS::Serverless::HttpApi", got)
	}
}

// TestTemplateFunctions checks the packaging of every function: Globals,
// CodeUri, the makefile build, and least-privilege policies.
func TestTemplateFunctions(t *testing.T) {
	t.Parallel()
	raw := rawTemplate(t)
	if got := dig(raw, "Transform"); got != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform = %v", got)
	}
	g := dig(raw, "Globals", "Function")
	for path, want := range map[string]any{
		"Runtime":                 "provided.al2023",
		"Handler":                 "bootstrap",
		"LoggingConfig/LogFormat": "JSON",
	} {
		if got := dig(g, strings.Split(path, "/")...); got != want {
			t.Errorf("Globals.Function.%s = %v, want %v", path, got, want)
		}
	}
	if got := dig(g, "Architectures"); fmt.Sprint(got) != "[arm64]" {
		t.Errorf("Globals.Function.Architectures = %v, want [arm64]", got)
	}

	// Least privilege (each function's IAM actions are exactly the calls its
	// code makes) is checked on the SAM-transformed template by tests/deploy,
	// which derives the expected actions from recorded DynamoDB calls.
	for _, id := range []string{"SendFunction", "HistoryFunction", "StreamFunction", "WebFunction"} {
		fn := dig(raw, "Resources", id)
		if fn == nil {
			t.Errorf("no resource %s", id)
			continue
		}
		if got := dig(fn, "Type"); got != "AWS::Serverless::Function" {
			t.Errorf("%s Type = %v", id, got)
		}
		if got := dig(fn, "Properties", "CodeUri"); got != "." {
			t.Errorf("%s CodeUri = %v, want .", id, got)
		}
		if got := dig(fn, "Metadata", "BuildMethod"); got != "makefile" {
			t.Errorf("%s Metadata.BuildMethod = %v, want makefile", id, got)
		}
	}
}

// TestTemplateEnvironment resolves each function's environment with the
// parameters' defaults (and an API key, the one parameter without a default)
// and checks that the function's configuration loads from it.
func TestTemplateEnvironment(t *testing.T) {
	t.Parallel()
	raw := rawTemplate(t)
	// FastlyServiceId is the one parameter without a default.
	params := map[string]string{"FastlyServiceId": "svc"}
	for name, p := range dig(raw, "Parameters").(map[string]any) {
		if d, ok := dig(p, "Default").(string); ok {
			params[name] = d
		}
	}
	resolve := func(v any) (string, error) {
		switch v := v.(type) {
		case string:
			return v, nil
		case map[string]any:
			if ref, ok := v["Ref"].(string); ok {
				if ref == "ChatTable" {
					return "stack-ChatTable-ABC123", nil
				}
				if p, ok := params[ref]; ok {
					return p, nil
				}
				return "", fmt.Errorf("Ref %s is not a parameter", ref)
			}
			if sub, ok := v["Fn::Sub"].(string); ok {
				for name, p := range params {
					sub = strings.ReplaceAll(sub, "${"+name+"}", p)
				}
				return sub, nil
			}
			if fim, ok := v["Fn::FindInMap"].([]any); ok && len(fim) == 3 {
				if s, ok := dig(raw, "Mappings", fmt.Sprint(fim[0]), fmt.Sprint(fim[1]), fmt.Sprint(fim[2])).(string); ok {
					return s, nil
				}
			}
		}
		return "", fmt.Errorf("cannot resolve %v", v)
	}
	for fn, build := range builders() {
		t.Run(fn, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			for _, src := range []any{dig(raw, "Globals", "Function"), dig(raw, "Resources", fn, "Properties")} {
				vars, _ := dig(src, "Environment", "Variables").(map[string]any)
				for k, v := range vars {
					s, err := resolve(v)
					if err != nil {
						t.Fatalf("%s: %v", k, err)
					}
					env[k] = s
				}
			}
			// What the secrets package does at cold start: each named SSM
			// parameter becomes its variable's value.
			for _, v := range config.Secrets() {
				if env[v+secrets.ParameterSuffix] != "" {
					env[v] = "secret-of-" + v
				}
			}
			getenv := func(k string) string { return env[k] }
			if _, err := build(t.Context(), getenv, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatalf("build from the template's environment: %v", err)
			}
			if fn != "StreamFunction" {
				return
			}
			vc, err := grip.VerifierConfigFromEnv(getenv)
			if err != nil || !strings.HasPrefix(string(vc.Key), "-----BEGIN PUBLIC KEY-----") {
				t.Errorf("default verify key is not Fastly's PEM key: %q (%v)", vc.Key, err)
			}
		})
	}
}

// TestTemplateTable checks that the table in template.yaml is the one
// dynamo.TableInput defines, with TTL on expiresAt and point-in-time
// recovery.
func TestTemplateTable(t *testing.T) {
	t.Parallel()
	raw := rawTemplate(t)
	tb := dig(raw, "Resources", "ChatTable")
	if got := dig(tb, "Type"); got != "AWS::DynamoDB::Table" {
		t.Fatalf("ChatTable Type = %v", got)
	}
	// The chat history outlives the stack and any replacement.
	for _, k := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
		if got := dig(tb, k); got != "Retain" {
			t.Errorf("ChatTable %s = %v, want Retain", k, got)
		}
	}
	if got := dig(tb, "Properties", "DeletionProtectionEnabled", "Ref"); got != "TableDeletionProtection" {
		t.Errorf("DeletionProtectionEnabled = %v, want Ref TableDeletionProtection", dig(tb, "Properties", "DeletionProtectionEnabled"))
	}
	want := dynamo.TableInput("ignored")
	if got := dig(tb, "Properties", "BillingMode"); got != string(want.BillingMode) {
		t.Errorf("BillingMode = %v, want %q", got, want.BillingMode)
	}
	pairs := func(v any, a, b string) []string {
		var out []string
		for _, it := range asList(v) {
			out = append(out, fmt.Sprint(dig(it, a))+":"+fmt.Sprint(dig(it, b)))
		}
		return out
	}
	gotAttrs := sorted(pairs(dig(tb, "Properties", "AttributeDefinitions"), "AttributeName", "AttributeType"))
	var wantAttrs []string
	for _, a := range want.AttributeDefinitions {
		wantAttrs = append(wantAttrs, aws.ToString(a.AttributeName)+":"+string(a.AttributeType))
	}
	if wantAttrs = sorted(wantAttrs); !slices.Equal(gotAttrs, wantAttrs) {
		t.Errorf("AttributeDefinitions = %v, want %v", gotAttrs, wantAttrs)
	}
	gotKeys := pairs(dig(tb, "Properties", "KeySchema"), "AttributeName", "KeyType")
	var wantKeys []string
	for _, k := range want.KeySchema {
		wantKeys = append(wantKeys, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
	}
	if !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("KeySchema = %v, want %v", gotKeys, wantKeys)
	}
	gsis := asList(dig(tb, "Properties", "GlobalSecondaryIndexes"))
	if len(gsis) != len(want.GlobalSecondaryIndexes) {
		t.Fatalf("%d GSIs, want %d", len(gsis), len(want.GlobalSecondaryIndexes))
	}
	for i, g := range gsis {
		w := want.GlobalSecondaryIndexes[i]
		name := fmt.Sprint(dig(g, "IndexName"))
		if name != aws.ToString(w.IndexName) {
			t.Errorf("GSI %d name = %q, want %q", i, name, aws.ToString(w.IndexName))
		}
		gk := pairs(dig(g, "KeySchema"), "AttributeName", "KeyType")
		var wk []string
		for _, k := range w.KeySchema {
			wk = append(wk, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
		}
		if !slices.Equal(gk, wk) {
			t.Errorf("GSI %s key schema = %v, want %v", name, gk, wk)
		}
		if got := dig(g, "Projection", "ProjectionType"); got != string(w.Projection.ProjectionType) {
			t.Errorf("GSI %s projection = %v, want %s", name, got, w.Projection.ProjectionType)
		}
		var attrs []string
		for _, a := range asList(dig(g, "Projection", "NonKeyAttributes")) {
			attrs = append(attrs, fmt.Sprint(a))
		}
		if !slices.Equal(sorted(attrs), sorted(w.Projection.NonKeyAttributes)) {
			t.Errorf("GSI %s projected attributes = %v, want %v", name, attrs, w.Projection.NonKeyAttributes)
		}
	}
	ttl := dig(tb, "Properties", "TimeToLiveSpecification")
	if dig(ttl, "Enabled") != "true" || dig(ttl, "AttributeName") != dynamo.AttrExpiresAt {
		t.Errorf("TimeToLiveSpecification = %v, want enabled on %s", ttl, dynamo.AttrExpiresAt)
	}
	if got := dig(tb, "Properties", "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"); got != "true" {
		t.Errorf("PointInTimeRecoveryEnabled = %v, want true", got)
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}
