package deploy

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestCfnLint runs cfn-lint over template.yaml with the checkout's
// .cfnlintrc (informational checks included) and fails on every finding:
// a finding is fixed in the template or waived in .cfnlintrc with a reason.
func TestCfnLint(t *testing.T) {
	t.Parallel()
	dir := root(t)
	for _, f := range cfnLint(t, dir) {
		t.Errorf("cfn-lint %s %s:%d: %s", f.Rule.ID, f.Filename, f.Location.Start.LineNumber, f.Message)
	}
}

// TestCfnLintCatches shows the lint run can fail: with the same .cfnlintrc,
// a table without deletion and replacement policies (the template before
// they were set) is reported, by an informational check (I3011).
func TestCfnLintCatches(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(filepath.Join(root(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(src), "    DeletionPolicy: Retain\n    UpdateReplacePolicy: Retain\n", "", 1)
	if broken == string(src) {
		t.Fatal("template.yaml has no table with DeletionPolicy: Retain to remove")
	}
	dir := t.TempDir()
	rc, err := os.ReadFile(filepath.Join(root(t), ".cfnlintrc"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"template.yaml": []byte(broken), ".cfnlintrc": rc} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int{}
	for _, f := range cfnLint(t, dir) {
		got[f.Rule.ID]++
	}
	if got["I3011"] != 2 {
		t.Errorf("findings %v, want I3011 twice (DeletionPolicy, UpdateReplacePolicy)", got)
	}
}

// TestCfnLintWaivers checks .cfnlintrc: informational checks are on, and
// every waived check has a reason in a comment right above it.
func TestCfnLintWaivers(t *testing.T) {
	t.Parallel()
	path := filepath.Join(root(t), ".cfnlintrc")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rc struct {
		Templates     []string `yaml:"templates"`
		IncludeChecks []string `yaml:"include_checks"`
		IgnoreChecks  []string `yaml:"ignore_checks"`
	}
	if err := yaml.Unmarshal(b, &rc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if fmt.Sprint(rc.Templates) != "[template.yaml]" {
		t.Errorf("templates = %v, want [template.yaml]", rc.Templates)
	}
	if fmt.Sprint(rc.IncludeChecks) != "[I]" {
		t.Errorf("include_checks = %v, want [I] (informational checks count)", rc.IncludeChecks)
	}
	// Each "- ID" under ignore_checks needs a "# reason" line above it.
	var prev string
	in := false
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "ignore_checks:"):
			in = true
		case in && strings.HasPrefix(line, "- "):
			if !strings.HasPrefix(prev, "#") || len(strings.TrimSpace(strings.TrimPrefix(prev, "#"))) < 10 {
				t.Errorf("%s: waiver %q has no reason in a comment above it", path, line)
			}
		case in && line != "" && !strings.HasPrefix(line, "#"):
			in = false
		}
		prev = line
	}
}
