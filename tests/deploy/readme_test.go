package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestReadmeGuidedPrompts keeps the README's list of `sam deploy --guided`
// prompts true: one "Parameter <Name> [<default>]" line per template
// parameter, in template order (the order SAM asks them), with the
// template's default in the brackets.
func TestReadmeGuidedPrompts(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join(root(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	var names, defaults []string
	for i, n := range doc.Content[0].Content {
		if n.Value != "Parameters" || i%2 != 0 {
			continue
		}
		params := doc.Content[0].Content[i+1]
		for j := 0; j+1 < len(params.Content); j += 2 {
			names = append(names, params.Content[j].Value)
			def := ""
			p := params.Content[j+1]
			for k := 0; k+1 < len(p.Content); k += 2 {
				if p.Content[k].Value == "Default" {
					def = p.Content[k+1].Value
				}
			}
			defaults = append(defaults, def)
		}
	}
	re := regexp.MustCompile(`(?m)^Parameter (\w+) \[(.*?)\]:`)
	var got, gotDefaults []string
	for _, m := range re.FindAllStringSubmatch(string(readme), -1) {
		got = append(got, m[1])
		gotDefaults = append(gotDefaults, m[2])
	}
	if !slices.Equal(got, names) {
		t.Fatalf("README lists the prompts\n  %s\nthe template asks\n  %s", strings.Join(got, " "), strings.Join(names, " "))
	}
	for i := range names {
		if gotDefaults[i] != defaults[i] {
			t.Errorf("README shows %s [%s], the template's default is [%s]", names[i], gotDefaults[i], defaults[i])
		}
	}
	// SAM asks "<Fn> has no authentication" once per route (HttpApi event).
	routes := 0
	paths, _ := dig(cfnTemplate(t), "Resources", "ChatApi", "Properties", "Body", "paths").(map[string]any)
	for _, ops := range paths {
		routes += len(ops.(map[string]any))
	}
	m := regexp.MustCompile(`asked once per route: (\d+) times in all`).FindStringSubmatch(string(readme))
	if m == nil || m[1] != strconv.Itoa(routes) {
		t.Errorf("README counts the no-authentication prompts as %v, the template has %d routes", m, routes)
	}
}
