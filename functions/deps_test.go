package functions_test

import (
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/fanout-chat/serverless-chat/"

// Packages a function must not link, by what they are.
var (
	rendering = []string{"github.com/yuin/goldmark", "github.com/microcosm-cc/bluemonday", "github.com/TwiN/go-away", module + "internal/render"}
	gripCode  = []string{module + "internal/grip", "github.com/fanout/go-gripcontrol", "github.com/fanout/go-pubcontrol"}
	jwtCode   = []string{"github.com/golang-jwt/jwt"}
	// Secrets from SSM Parameter Store: only send and stream have secrets.
	ssmCode   = []string{"github.com/aws/aws-sdk-go-v2/service/ssm", module + "internal/secrets", module + "internal/wire/ssmenv"}
	dynamoDB  = []string{"github.com/aws/aws-sdk-go-v2/service/dynamodb", module + "internal/dynamo"}
	webAssets = []string{module + "internal/webui", module + "web"}
)

// TestFunctionDeps checks with `go list -deps` that each function links only
// what its own handler uses: the stream binary carries no markdown or
// profanity code, history no GRIP, JWT or SSM client, web no DynamoDB,
// GRIP, JWT or SSM client, and only web carries the front end. A forbidden
// entry matches the package and
// everything under it.
func TestFunctionDeps(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command on PATH to run go list -deps")
	}
	tests := []struct {
		fn        string
		forbidden [][]string
		required  []string // sanity: the check sees real dependencies
	}{
		{"send", [][]string{webAssets, {module + "internal/handler/stream"}}, []string{module + "internal/render", module + "internal/grip", module + "internal/wire/ssmenv"}},
		{"history", [][]string{rendering, gripCode, jwtCode, ssmCode, webAssets}, []string{module + "internal/dynamo"}},
		{"stream", [][]string{rendering, webAssets}, []string{module + "internal/grip", "github.com/golang-jwt/jwt/v5", module + "internal/wire/ssmenv"}},
		{"web", [][]string{rendering, gripCode, jwtCode, ssmCode, dynamoDB}, []string{module + "internal/webui"}},
	}
	for _, tt := range tests {
		t.Run(tt.fn, func(t *testing.T) {
			t.Parallel()
			deps := goListDeps(t, "./functions/"+tt.fn)
			for _, group := range tt.forbidden {
				for _, bad := range group {
					for _, d := range deps {
						if d == bad || strings.HasPrefix(d, bad+"/") {
							t.Errorf("%s links %s", tt.fn, d)
						}
					}
				}
			}
			for _, want := range tt.required {
				if !slices.Contains(deps, want) {
					t.Errorf("%s does not link %s: is go list -deps reading the right package?", tt.fn, want)
				}
			}
			t.Logf("%s links %d packages", tt.fn, len(deps))
		})
	}
}

// TestOneListOfFunctions: the functions are the template's; each has a main
// under functions/ and a constructor the stack can call.
func TestOneListOfFunctions(t *testing.T) {
	t.Parallel()
	var ids []string
	for id, res := range dig(rawTemplate(t), "Resources").(map[string]any) {
		if dig(res, "Type") == "AWS::Serverless::Function" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var fromBuilders []string
	for id := range builders() {
		fromBuilders = append(fromBuilders, id)
	}
	sort.Strings(fromBuilders)
	if !slices.Equal(ids, fromBuilders) {
		t.Errorf("template functions %v, constructors %v", ids, fromBuilders)
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	for _, id := range ids {
		dir := strings.ToLower(strings.TrimSuffix(id, "Function"))
		if !slices.Contains(dirs, dir) {
			t.Errorf("%s has no functions/%s", id, dir)
		}
	}
	if len(dirs) != len(ids) {
		t.Errorf("functions/ holds %v, the template %v", dirs, ids)
	}
}

func goListDeps(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", pkg)
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}
