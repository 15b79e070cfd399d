package deploy

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/fanout-chat/serverless-chat/tools/proc"
)

// root returns the checkout.
func root(t *testing.T) string {
	t.Helper()
	r, err := proc.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// python returns python3 after checking it has the module, failing the test
// with what to install when it does not: these checks are part of make test.
func python(t *testing.T, module, pkg string) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil && testing.Short() {
		t.Skipf("needs python3 with %s, which is not on PATH (-short: skipped)", pkg)
	}
	if err != nil {
		t.Fatalf("python3 is not on PATH: the deployment checks need python3 with %s (pip install %s)", pkg, pkg)
	}
	if out, err := exec.Command(py, "-c", "import "+module).CombinedOutput(); err != nil {
		if testing.Short() {
			t.Skipf("needs %s in %s (-short: skipped): %v", pkg, py, err)
		}
		t.Fatalf("%s has no %s: install %s (pip install %s): %v\n%s", py, module, pkg, pkg, err, out)
	}
	return py
}

// cfnLint runs cfn-lint in dir (which reads dir/.cfnlintrc) with args and
// returns its findings.
func cfnLint(t *testing.T, dir string, args ...string) []finding {
	t.Helper()
	py := python(t, "cfnlint", "cfn-lint")
	cmd := exec.Command(py, append([]string{"-c", "import sys; from cfnlint.runner import main; sys.exit(main())", "--format", "json"}, args...)...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var findings []finding
	if jerr := json.Unmarshal(stdout.Bytes(), &findings); jerr != nil {
		t.Fatalf("cfn-lint %v: %v; output not JSON (%v):\n%s\n%s", args, err, jerr, stdout.String(), stderr.String())
	}
	return findings
}

// finding is one cfn-lint match in its JSON format.
type finding struct {
	Rule struct {
		ID string `json:"Id"`
	} `json:"Rule"`
	Message  string `json:"Message"`
	Filename string `json:"Filename"`
	Location struct {
		Start struct {
			LineNumber int `json:"LineNumber"`
		} `json:"Start"`
	} `json:"Location"`
}

// transformTemplate runs scripts/sam-transform.py on the template at path,
// with params ("Name=Value") as the deploy's parameter values.
func transformTemplate(t *testing.T, path string, params ...string) map[string]any {
	t.Helper()
	py := python(t, "samtranslator", "aws-sam-translator")
	cmd := exec.Command(py, append([]string{filepath.Join(root(t), "scripts", "sam-transform.py"), path}, params...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("SAM transform of %s: %v\n%s", path, err, stderr.String())
	}
	var out map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("SAM transform of %s: %v", path, err)
	}
	return out
}

var transformed struct {
	mu  sync.Mutex
	tpl map[string]any
}

// cfnTemplate is the SAM transform of the checkout's template.yaml,
// computed once for the package's tests. The maps are shared: read only.
func cfnTemplate(t *testing.T) map[string]any {
	t.Helper()
	transformed.mu.Lock()
	defer transformed.mu.Unlock()
	if transformed.tpl == nil {
		transformed.tpl = transformTemplate(t, filepath.Join(root(t), "template.yaml"))
	}
	return transformed.tpl
}

// dig walks nested maps.
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

// list returns v as a list: a list as is, a single value as a list of one.
func list(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}
