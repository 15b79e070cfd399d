package deploy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestServerlessRules applies the checks of cfn-lint-serverless (awslabs
// serverless-rules) to the transformed template. That plugin is a Python
// package on PyPI, which the project's machines cannot reach, so each rule
// the template can trigger is checked here with the rule's own id. A Ref to
// a parameter counts as the parameter's default.
func TestServerlessRules(t *testing.T) {
	t.Parallel()
	for _, f := range serverlessFindings(cfnTemplate(t)) {
		t.Errorf("%s", f)
	}
}

// TestServerlessRulesCatch runs the same checks over the template as it was
// before the deployment work (testdata/template-before.yaml): they find
// what cfn-lint-serverless found in it, ES2000 once, WS1000 and WS1004 for
// each of the four functions.
func TestServerlessRulesCatch(t *testing.T) {
	t.Parallel()
	got := map[string]int{}
	for _, f := range serverlessFindings(transformTemplate(t, "testdata/template-before.yaml")) {
		got[f.id]++
	}
	want := map[string]int{"ES2000": 1, "WS1000": 4, "WS1004": 4}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("findings %v, want %v", got, want)
	}
}

// ruleFinding is one serverless-rules finding.
type ruleFinding struct{ id, msg string }

func (f ruleFinding) String() string { return f.id + ": " + f.msg }

// serverlessFindings applies the cfn-lint-serverless checks to a
// transformed template.
func serverlessFindings(tpl map[string]any) []ruleFinding {
	var findings []ruleFinding
	res := func(id string) any { return dig(tpl, "Resources", id) }
	val := func(v any) any {
		if r, ok := dig(v, "Ref").(string); ok {
			if d := dig(tpl, "Parameters", r, "Default"); d != nil {
				return d
			}
		}
		return v
	}
	lambdas := resourcesOfType(tpl, "AWS::Lambda::Function")
	stages := resourcesOfType(tpl, "AWS::ApiGatewayV2::Stage")
	rules := []struct {
		id, what string
		check    func(t *fails)
	}{
		{"ES2000", "API stages have access logging", func(t *fails) {
			for _, s := range stages {
				if dig(res(s), "Properties", "AccessLogSettings", "DestinationArn") == nil {
					t.Errorf("stage %s has no AccessLogSettings.DestinationArn", s)
				}
			}
		}},
		{"WS2001", "API access logs are structured (JSON)", func(t *fails) {
			for _, s := range stages {
				f, ok := dig(res(s), "Properties", "AccessLogSettings", "Format").(string)
				if !ok {
					continue // no access log at all is ES2000's
				}
				f = regexp.MustCompile(`\$context\.[a-zA-Z.]+`).ReplaceAllString(f, "0")
				if !json.Valid([]byte(f)) {
					t.Errorf("stage %s access log format is not JSON", s)
				}
			}
		}},
		{"ES2003", "HTTP API stages have default throttling", func(t *fails) {
			for _, s := range stages {
				rs := dig(res(s), "Properties", "DefaultRouteSettings")
				if dig(rs, "ThrottlingBurstLimit") == nil || dig(rs, "ThrottlingRateLimit") == nil {
					t.Errorf("stage %s has no default throttling", s)
				}
			}
		}},
		{"WS1000", "functions are traced (Tracing parameter, default Active)", func(t *fails) {
			for _, f := range lambdas {
				if m := val(dig(res(f), "Properties", "TracingConfig", "Mode")); m != "Active" {
					t.Errorf("%s tracing mode = %v", f, m)
				}
			}
		}},
		{"WS1003", "no IAM action with a star", func(t *fails) {
			for _, r := range resourcesOfType(tpl, "AWS::IAM::Role") {
				for _, p := range list(dig(res(r), "Properties", "Policies")) {
					for _, st := range list(dig(p, "PolicyDocument", "Statement")) {
						for _, a := range list(dig(st, "Action")) {
							if s := fmt.Sprint(a); s == "*" || strings.Contains(s, ":*") {
								t.Errorf("role %s allows %s", r, s)
							}
						}
					}
				}
			}
		}},
		{"WS1004", "every function has a log group with retention", func(t *fails) {
			for _, f := range lambdas {
				ok := false
				for _, g := range resourcesOfType(tpl, "AWS::Logs::LogGroup") {
					p := dig(res(g), "Properties")
					if refersTo(dig(p, "LogGroupName"), f) && dig(p, "RetentionInDays") != nil {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s has no log group with RetentionInDays", f)
				}
			}
		}},
		{"ES1005", "functions set MemorySize", func(t *fails) {
			for _, f := range lambdas {
				if dig(res(f), "Properties", "MemorySize") == nil {
					t.Errorf("%s has no MemorySize", f)
				}
			}
		}},
		{"ES1006", "functions set Timeout", func(t *fails) {
			for _, f := range lambdas {
				if dig(res(f), "Properties", "Timeout") == nil {
					t.Errorf("%s has no Timeout", f)
				}
			}
		}},
		{"WS1002", "one principal per function's permissions", func(t *fails) {
			principals := map[string]map[string]bool{}
			for _, p := range resourcesOfType(tpl, "AWS::Lambda::Permission") {
				props := dig(res(p), "Properties")
				for _, f := range lambdas {
					if refersTo(dig(props, "FunctionName"), f) {
						if principals[f] == nil {
							principals[f] = map[string]bool{}
						}
						principals[f][fmt.Sprint(dig(props, "Principal"))] = true
					}
				}
			}
			for f, ps := range principals {
				if len(ps) > 1 {
					t.Errorf("%s has permissions for %d principals", f, len(ps))
				}
			}
		}},
		{"ES1001/ES1007/ES7000", "no event source mapping, async trigger or SNS subscription without a failure destination", func(t *fails) {
			for _, typ := range []string{"AWS::Lambda::EventSourceMapping", "AWS::Lambda::EventInvokeConfig"} {
				if ids := resourcesOfType(tpl, typ); len(ids) > 0 {
					t.Errorf("%s %v: add the failure destinations these rules ask for", typ, ids)
				}
			}
			for _, s := range resourcesOfType(tpl, "AWS::SNS::Subscription") {
				if dig(res(s), "Properties", "RedrivePolicy") == nil {
					t.Errorf("SNS subscription %s has no RedrivePolicy", s)
				}
			}
		}},
	}
	for _, r := range rules {
		f := &fails{}
		r.check(f)
		for _, m := range f.msgs {
			findings = append(findings, ruleFinding{r.id, r.what + ": " + m})
		}
	}
	return findings
}

// fails collects a rule's findings with the t.Errorf the checks call.
type fails struct{ msgs []string }

func (f *fails) Errorf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}
