package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/fanout-chat/serverless-chat/tools/proc"
)

// decode parses a template into plain values (tags dropped), for comparing
// two renderings of the same document.
func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("parse: %v", err)
	}
	return v
}

func TestBuildRewritesOnlyCodeUri(t *testing.T) {
	t.Parallel()
	src := []byte(`Transform: AWS::Serverless-2016-10-31
Resources:
  # a comment that stays
  Fn:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
    Properties: {CodeUri: ., Environment: {Variables: {T: !Ref Table}}}
  Other:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: s3://bucket/other.zip}
  Table:
    Type: AWS::DynamoDB::Table
`)
	out, built, err := Build(src, func(string) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(built, []string{"Fn"}) {
		t.Errorf("built = %v, want [Fn]", built)
	}
	for _, want := range []string{"CodeUri: Fn", "SamResourceId: Fn", "!Ref Table", "# a comment that stays", "s3://bucket/other.zip"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("built template lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := Build(src, func(id string) error { return os.ErrNotExist }); err == nil {
		t.Error("Build with a missing bootstrap succeeded")
	}
}

// TestMakeBuild runs `make build` into a temporary folder and checks what
// `sam deploy` would package from it: every function's CodeUri in the built
// template is a folder beside it holding a linux/arm64 bootstrap, and the
// template is otherwise the source template.
func TestMakeBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short: builds four linux/arm64 binaries")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	root, err := proc.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "make", "--no-print-directory", "build", "BUILD_DIR="+dir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	builtBytes, err := os.ReadFile(filepath.Join(dir, "template.yaml"))
	if err != nil {
		t.Fatalf("make build wrote no template.yaml: %v", err)
	}
	srcBytes, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	built, src := decode(t, builtBytes), decode(t, srcBytes)
	resources, _ := built["Resources"].(map[string]any)
	n := 0
	for id, r := range resources {
		res, _ := r.(map[string]any)
		if res["Type"] != "AWS::Serverless::Function" {
			continue
		}
		n++
		props, _ := res["Properties"].(map[string]any)
		uri, _ := props["CodeUri"].(string)
		if uri != id {
			t.Errorf("%s CodeUri = %q, want %q", id, uri, id)
		}
		bootstrap := filepath.Join(dir, uri, "bootstrap")
		f, err := elf.Open(bootstrap)
		if err != nil {
			t.Errorf("%s: %s is not an ELF binary: %v", id, bootstrap, err)
			continue
		}
		if f.Machine != elf.EM_AARCH64 {
			t.Errorf("%s: bootstrap is for %v, want arm64", id, f.Machine)
		}
		_ = f.Close()
		// Apart from CodeUri and SamResourceId, nothing changed.
		props["CodeUri"] = "."
		meta, _ := res["Metadata"].(map[string]any)
		delete(meta, "SamResourceId")
	}
	if n != 4 {
		t.Errorf("%d functions in the built template, want 4", n)
	}
	if !reflect.DeepEqual(built, src) {
		t.Error("the built template differs from template.yaml beyond CodeUri and SamResourceId")
	}
}
