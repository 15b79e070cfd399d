// Command samtemplate writes the template `sam build` leaves next to the
// functions it built: template.yaml with each makefile-built function's
// CodeUri pointing at its artifact folder (<build dir>/<LogicalId>, relative
// to the written template) and Metadata.SamResourceId set, everything else as
// in the source. `make build` runs it after the build-<LogicalId> targets, so
// `sam deploy` after `make build` packages the bootstraps, not the checkout.
//
//	samtemplate -template template.yaml -build-dir .aws-sam/build
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "samtemplate:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("samtemplate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	src := fs.String("template", "template.yaml", "the source SAM template")
	buildDir := fs.String("build-dir", ".aws-sam/build", "where the build-<LogicalId> targets wrote <LogicalId>/bootstrap; the built template is written here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	in, err := os.ReadFile(*src)
	if err != nil {
		return err
	}
	out, built, err := Build(in, func(id string) error {
		b := filepath.Join(*buildDir, id, "bootstrap")
		if st, err := os.Stat(b); err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("%s: no %s (run make build-%s)", id, b, id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	dst := filepath.Join(*buildDir, "template.yaml")
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "samtemplate: wrote %s (%d functions)\n", dst, len(built))
	return nil
}

// Build returns the built template for source: every
// AWS::Serverless::Function with Metadata.BuildMethod makefile gets CodeUri
// <LogicalId> and Metadata.SamResourceId <LogicalId>, as `sam build` writes
// them; check is called with each such id first (to see its bootstrap is
// there). Comments and short-form intrinsics are kept. It returns the ids
// in template order.
func Build(source []byte, check func(logicalID string) error) ([]byte, []string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(source, &doc); err != nil {
		return nil, nil, fmt.Errorf("parse template: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, errors.New("template is not a mapping")
	}
	resources := get(doc.Content[0], "Resources")
	if resources == nil || resources.Kind != yaml.MappingNode {
		return nil, nil, errors.New("template has no Resources")
	}
	var built []string
	var errs []error
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, res := resources.Content[i].Value, resources.Content[i+1]
		if t := get(res, "Type"); t == nil || t.Value != "AWS::Serverless::Function" {
			continue
		}
		meta := get(res, "Metadata")
		if m := get(meta, "BuildMethod"); m == nil || m.Value != "makefile" {
			continue
		}
		if err := check(id); err != nil {
			errs = append(errs, err)
			continue
		}
		props := get(res, "Properties")
		if props == nil {
			errs = append(errs, fmt.Errorf("%s has no Properties", id))
			continue
		}
		set(props, "CodeUri", id)
		set(meta, "SamResourceId", id)
		built = append(built, id)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	if len(built) == 0 {
		return nil, nil, errors.New("no function with Metadata.BuildMethod makefile")
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, nil, fmt.Errorf("write template: %w", err)
	}
	return buf.Bytes(), built, nil
}

// get returns the value of key in mapping node m, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// set sets key in mapping node m to the plain string value.
func set(m *yaml.Node, key, value string) {
	if v := get(m, key); v != nil {
		*v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
		return
	}
	m.Content = append(m.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key},
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value})
}
