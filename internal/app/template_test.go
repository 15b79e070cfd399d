package app

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
	"gopkg.in/yaml.v3"

	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/internal/dynamo"
	"github.com/fanout-chat/serverless-chat/internal/handler"
)

var templatePath = filepath.Join("..", "..", "template.yaml")

// handlerRoutes is what each function's handler serves, from the lists that
// also register the handlers' muxes.
func handlerRoutes() map[string][]handler.Route {
	return map[string][]handler.Route{
		"SendFunction":    handler.SendRoutes(),
		"HistoryFunction": handler.HistoryRoutes(),
		"StreamFunction":  handler.StreamRoutes(),
	}
}

// openTemplate parses template.yaml with goformation. Ref resolves to the
// name it refers to, so references can be checked and Number parameters do
// not turn string properties into numbers.
func openTemplate(t *testing.T) *cloudformation.Template {
	t.Helper()
	tpl, err := goformation.OpenWithOptions(templatePath, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref": func(_ string, input any, _ any) any { return fmt.Sprint(input) },
		},
	})
	if err != nil {
		t.Fatalf("parse %s: %v", templatePath, err)
	}
	return tpl
}

// rawTemplate decodes template.yaml without goformation, for what it does
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
	tpl := openTemplate(t)
	fns := tpl.GetAllServerlessFunctionResources()
	seen := map[string]string{} // route key → function
	for id, fn := range fns {
		var got []string
		for name, ev := range fn.Events {
			if ev.Type != "HttpApi" {
				continue
			}
			h := ev.Properties.HttpApiEvent
			if h == nil || h.Method == nil || h.Path == nil {
				t.Errorf("%s event %s: HttpApi without Method and Path", id, name)
				continue
			}
			if h.ApiId == nil || *h.ApiId != "ChatApi" {
				t.Errorf("%s event %s: ApiId = %v, want Ref ChatApi", id, name, h.ApiId)
			}
			key := strings.ToUpper(*h.Method) + " " + *h.Path
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
	if _, err := tpl.GetServerlessHttpApiWithName("ChatApi"); err != nil {
		t.Errorf("ChatApi: %v", err)
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

	// Least privilege: each function may make exactly the DynamoDB calls it
	// needs, on the table and its index, and nobody may Scan.
	readOnly := []string{"dynamodb:GetItem", "dynamodb:Query"}
	wantActions := map[string][]string{
		"SendFunction": {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
			"dynamodb:DeleteItem", "dynamodb:ConditionCheckItem", "dynamodb:BatchWriteItem"},
		"HistoryFunction": readOnly,
		// Presence: one UpdateItem per stream invocation (dynamo.Presence).
		"StreamFunction": {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"},
		"WebFunction":    nil,
	}
	for id, want := range wantActions {
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
		pols, _ := dig(fn, "Properties", "Policies").([]any)
		if want == nil {
			if len(pols) != 0 {
				t.Errorf("%s has policies %v, want none", id, pols)
			}
			continue
		}
		if len(pols) != 1 {
			t.Errorf("%s policies = %v, want one inline statement", id, pols)
			continue
		}
		stmts, _ := dig(pols[0], "Statement").([]any)
		if len(stmts) != 1 {
			t.Errorf("%s statements = %v, want one", id, stmts)
			continue
		}
		var got []string
		for _, a := range dig(stmts[0], "Action").([]any) {
			got = append(got, fmt.Sprint(a))
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s actions = %v, want %v", id, got, want)
		}
		res := fmt.Sprint(dig(stmts[0], "Resource"))
		if !strings.Contains(res, "ChatTable.Arn") || !strings.Contains(res, "/index/*") {
			t.Errorf("%s resources = %s, want the table and its indexes", id, res)
		}
	}
}

// TestTemplateEnvironment resolves each function's environment with the
// parameters' defaults (and an API key, the one parameter without a default)
// and checks that the function's configuration loads from it.
func TestTemplateEnvironment(t *testing.T) {
	t.Parallel()
	raw := rawTemplate(t)
	params := map[string]string{"ApiKeys": "key-1"}
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
		}
		return "", fmt.Errorf("cannot resolve %v", v)
	}
	tests := []struct {
		fn      string
		require func(config.Config) error
	}{
		{"SendFunction", config.Config.RequireSend},
		{"HistoryFunction", config.Config.RequireHistory},
		{"StreamFunction", config.Config.RequireStream},
	}
	for _, tt := range tests {
		t.Run(tt.fn, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			for _, src := range []any{dig(raw, "Globals", "Function"), dig(raw, "Resources", tt.fn, "Properties")} {
				vars, _ := dig(src, "Environment", "Variables").(map[string]any)
				for k, v := range vars {
					s, err := resolve(v)
					if err != nil {
						t.Fatalf("%s: %v", k, err)
					}
					env[k] = s
				}
			}
			// Deployed with Fanout: the service id and token are given.
			env[config.EnvFastlyServiceID] = orDefault(env, config.EnvFastlyServiceID, "svc")
			if _, ok := env[config.EnvFastlyAPIToken]; ok {
				env[config.EnvFastlyAPIToken] = "token"
			}
			cfg, err := config.Load(func(k string) string { return env[k] })
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if err := tt.require(cfg); err != nil {
				t.Fatalf("require: %v", err)
			}
			if tt.fn == "StreamFunction" && !strings.HasPrefix(string(cfg.GripVerifyKey), "-----BEGIN PUBLIC KEY-----") {
				t.Errorf("default verify key is not Fastly's PEM key: %q", cfg.GripVerifyKey)
			}
		})
	}
}

func orDefault(env map[string]string, k, d string) string {
	if v := env[k]; v != "" {
		return v
	}
	return d
}

// TestTemplateTable checks that the table in template.yaml is the one
// dynamo.TableInput defines, with TTL on expiresAt and point-in-time
// recovery.
func TestTemplateTable(t *testing.T) {
	t.Parallel()
	tpl := openTemplate(t)
	tb, err := tpl.GetDynamoDBTableWithName("ChatTable")
	if err != nil {
		t.Fatalf("ChatTable: %v", err)
	}
	want := dynamo.TableInput("ignored")
	if got := aws.ToString(tb.BillingMode); got != string(want.BillingMode) {
		t.Errorf("BillingMode = %q, want %q", got, want.BillingMode)
	}
	var gotAttrs, wantAttrs []string
	for _, a := range tb.AttributeDefinitions {
		gotAttrs = append(gotAttrs, a.AttributeName+":"+a.AttributeType)
	}
	for _, a := range want.AttributeDefinitions {
		wantAttrs = append(wantAttrs, aws.ToString(a.AttributeName)+":"+string(a.AttributeType))
	}
	sort.Strings(gotAttrs)
	sort.Strings(wantAttrs)
	if !slices.Equal(gotAttrs, wantAttrs) {
		t.Errorf("AttributeDefinitions = %v, want %v", gotAttrs, wantAttrs)
	}
	var gotKeys, wantKeys []string
	for _, k := range tb.KeySchema {
		gotKeys = append(gotKeys, k.AttributeName+":"+k.KeyType)
	}
	for _, k := range want.KeySchema {
		wantKeys = append(wantKeys, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
	}
	if !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("KeySchema = %v, want %v", gotKeys, wantKeys)
	}
	if len(tb.GlobalSecondaryIndexes) != len(want.GlobalSecondaryIndexes) {
		t.Fatalf("%d GSIs, want %d", len(tb.GlobalSecondaryIndexes), len(want.GlobalSecondaryIndexes))
	}
	for i, g := range tb.GlobalSecondaryIndexes {
		w := want.GlobalSecondaryIndexes[i]
		if g.IndexName != aws.ToString(w.IndexName) {
			t.Errorf("GSI %d name = %q, want %q", i, g.IndexName, aws.ToString(w.IndexName))
		}
		var gk, wk []string
		for _, k := range g.KeySchema {
			gk = append(gk, k.AttributeName+":"+k.KeyType)
		}
		for _, k := range w.KeySchema {
			wk = append(wk, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
		}
		if !slices.Equal(gk, wk) {
			t.Errorf("GSI %s key schema = %v, want %v", g.IndexName, gk, wk)
		}
		if g.Projection == nil || aws.ToString(g.Projection.ProjectionType) != string(w.Projection.ProjectionType) {
			t.Errorf("GSI %s projection = %+v, want %s", g.IndexName, g.Projection, w.Projection.ProjectionType)
		} else if !slices.Equal(sorted(g.Projection.NonKeyAttributes), sorted(w.Projection.NonKeyAttributes)) {
			t.Errorf("GSI %s projected attributes = %v, want %v", g.IndexName, g.Projection.NonKeyAttributes, w.Projection.NonKeyAttributes)
		}
	}
	if ttl := tb.TimeToLiveSpecification; ttl == nil || !ttl.Enabled || aws.ToString(ttl.AttributeName) != dynamo.AttrExpiresAt {
		t.Errorf("TimeToLiveSpecification = %+v, want enabled on %s", ttl, dynamo.AttrExpiresAt)
	}
	if p := tb.PointInTimeRecoverySpecification; p == nil || !aws.ToBool(p.PointInTimeRecoveryEnabled) {
		t.Errorf("PointInTimeRecoverySpecification = %+v, want enabled", p)
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}
