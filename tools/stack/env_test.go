package stack

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fanout-chat/serverless-chat/tools/apigw"
	"github.com/fanout-chat/serverless-chat/tools/proc"
)

// checkoutTemplate loads the checkout's template.yaml.
func checkoutTemplate(t *testing.T) (string, *apigw.Template) {
	t.Helper()
	root, err := proc.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "template.yaml")
	tmpl, err := apigw.LoadTemplate(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return path, tmpl
}

func TestEnvironments(t *testing.T) {
	t.Parallel()
	path, tmpl := checkoutTemplate(t)
	envFile := filepath.Join(t.TempDir(), "env.json")
	err := os.WriteFile(envFile, []byte(`{
		"Parameters": {"LINK_TIMEOUT": "60", "LOG_LEVEL": "debug", "NOT_DECLARED": "x"},
		"StreamFunction": {"LINK_TIMEOUT": "61"}
	}`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	base := Config{Template: path, EnvVarsFile: envFile, APIKeys: "k1,k2", AdminKey: "adm", SigKey: "sig"}
	all := []string{"HistoryFunction", "SendFunction", "StreamFunction", "WebFunction"}
	tests := []struct {
		name string
		env  map[string]string
		// want maps a variable to the functions that must have it with the
		// value; every other function must not have that value.
		want map[string]map[string][]string
	}{
		{
			name: "stack settings",
			want: map[string]map[string][]string{
				"GRIP_URL": {"http://127.0.0.1:5561": {"SendFunction", "StreamFunction"}},
				// Secrets come from the environment, never SSM, locally.
				"API_KEYS_PARAMETER":         {"": {"SendFunction"}},
				"FASTLY_API_TOKEN_PARAMETER": {"": {"SendFunction", "StreamFunction"}},
				"ADMIN_KEY_PARAMETER":        {"": {"SendFunction"}},
				"DYNAMODB_ENDPOINT":          {"http://127.0.0.1:8000": all},
				"GRIP_VERIFY_KEY":            {"base64:" + base64.StdEncoding.EncodeToString([]byte("sig")): {"StreamFunction"}},
				"GRIP_VERIFY_ISS":            {"pushpin": {"StreamFunction"}},
				"API_KEYS":                   {"k1,k2": {"SendFunction"}},
				"ADMIN_KEY":                  {"adm": {"SendFunction"}},
			},
		},
		{
			name: "env file, function entry over Parameters",
			want: map[string]map[string][]string{
				"LINK_TIMEOUT": {"61": {"StreamFunction"}},
				"LOG_LEVEL":    {"debug": all},
			},
		},
		{
			name: "Env over everything, where declared",
			env: map[string]string{
				"ROOMS":        "fresh-1:Fresh,fresh-2:Other",
				"GRIP_URL":     "http://127.0.0.1:9999",
				"LINK_TIMEOUT": "5",
				"TABLE_NAME":   "chat-test",
			},
			want: map[string]map[string][]string{
				"ROOMS":        {"fresh-1:Fresh,fresh-2:Other": all},
				"GRIP_URL":     {"http://127.0.0.1:9999": {"SendFunction", "StreamFunction"}},
				"LINK_TIMEOUT": {"5": {"StreamFunction"}},
				"TABLE_NAME":   {"chat-test": all},
				"LOG_LEVEL":    {"debug": all},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := base
			cfg.Env = tt.env
			envs, err := Environments(cfg, tmpl, "http://127.0.0.1:8000", "http://127.0.0.1:5561", nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := sortedKeys(envs); !slices.Equal(got, all) {
				t.Fatalf("functions = %v, want %v", got, all)
			}
			for name, byValue := range tt.want {
				for value, fns := range byValue {
					for _, id := range all {
						got, has := envs[id][name]
						if slices.Contains(fns, id) {
							if got != value {
								t.Errorf("%s: %s = %q (set %v), want %q", id, name, got, has, value)
							}
						} else if has && got == value {
							t.Errorf("%s: %s = %q, but the template does not declare it there", id, name, got)
						}
					}
				}
			}
			for _, id := range all {
				if _, has := envs[id]["NOT_DECLARED"]; has {
					t.Errorf("%s: an undeclared variable of the env file was set", id)
				}
				if _, has := envs[id]["AWS_REGION"]; has {
					t.Errorf("%s: Environments set the Lambda service's AWS_REGION", id)
				}
			}
		})
	}
}

func TestEnvironmentsRefusesUndeclaredEnv(t *testing.T) {
	t.Parallel()
	path, tmpl := checkoutTemplate(t)
	cfg := Config{Template: path, APIKeys: "k", AdminKey: "a", SigKey: "s",
		Env: map[string]string{"ROOMS": "a:A", "PUBLISH_TIMEOUT": "1s", "NO_SUCH": "x"}}
	_, err := Environments(cfg, tmpl, "http://127.0.0.1:1", "http://127.0.0.1:2", nil)
	if err == nil {
		t.Fatal("no error for variables no function declares")
	}
	for _, name := range []string{"NO_SUCH", "PUBLISH_TIMEOUT"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if strings.Contains(err.Error(), "ROOMS") {
		t.Errorf("error %q names ROOMS, which is declared", err)
	}
}

func TestLambdaEnvironments(t *testing.T) {
	t.Parallel()
	path, tmpl := checkoutTemplate(t)
	cfg := Config{Template: path, APIKeys: "k", AdminKey: "a", SigKey: "s"}
	envs, err := LambdaEnvironments(cfg, tmpl, "http://127.0.0.1:1", "http://127.0.0.1:2", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range tmpl.FunctionIDs() {
		env := envs[id]
		if env["AWS_LAMBDA_FUNCTION_NAME"] != id || env["AWS_REGION"] != apigw.LocalRegion ||
			env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "" || env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "" {
			t.Errorf("%s: Lambda variables missing: %v", id, env)
		}
	}
}

// TestBuildersCoverTemplate: every function of the template runs
// in-process, web included, with no special case in the stack.
func TestBuildersCoverTemplate(t *testing.T) {
	t.Parallel()
	_, tmpl := checkoutTemplate(t)
	builders := Builders()
	for _, id := range tmpl.FunctionIDs() {
		if _, ok := builders[id]; !ok {
			t.Errorf("Builders has no %s", id)
		}
	}
}

func TestFunctionPackage(t *testing.T) {
	t.Parallel()
	tests := []struct{ id, want string }{
		{"SendFunction", "./functions/send"},
		{"WebFunction", "./functions/web"},
		{"HistoryFunction", "./functions/history"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			if got := FunctionPackage(tt.id); got != tt.want {
				t.Errorf("FunctionPackage(%s) = %s, want %s", tt.id, got, tt.want)
			}
		})
	}
}

func TestEnvList(t *testing.T) {
	t.Parallel()
	got := EnvList(map[string]string{"B": "2", "A": "1=one"})
	if want := []string{"A=1=one", "B=2"}; !slices.Equal(got, want) {
		t.Errorf("EnvList = %q, want %q", got, want)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
