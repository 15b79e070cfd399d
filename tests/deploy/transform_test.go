package deploy

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/fanout-chat/serverless-chat/internal/emf"
	"github.com/fanout-chat/serverless-chat/internal/handler"
	streamhandler "github.com/fanout-chat/serverless-chat/internal/handler/stream"
)

// resourcesOfType returns the logical ids of the transformed template's
// resources of type typ, sorted.
func resourcesOfType(tpl map[string]any, typ string) []string {
	var ids []string
	for id, r := range dig(tpl, "Resources").(map[string]any) {
		if dig(r, "Type") == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

var functions = []string{"HistoryFunction", "SendFunction", "StreamFunction", "WebFunction"}

// refersTo reports whether the intrinsic value v refers to resource id
// (Ref, Fn::GetAtt or a ${id} / ${id.Attr} in Fn::Sub).
func refersTo(v any, id string) bool {
	b, _ := json.Marshal(v)
	s := string(b)
	return strings.Contains(s, `{"Ref":"`+id+`"}`) || strings.Contains(s, `"Fn::GetAtt":["`+id+`"`) ||
		strings.Contains(s, "${"+id+"}") || strings.Contains(s, "${"+id+".")
}

// TestTransformRoutes checks the routes API Gateway gets after the SAM
// transform: each is integrated with the function whose handler serves it.
func TestTransformRoutes(t *testing.T) {
	t.Parallel()
	tpl := cfnTemplate(t)
	want := map[string]string{}
	for fn, routes := range map[string][]handler.Route{
		"SendFunction": handler.SendRoutes(), "HistoryFunction": handler.HistoryRoutes(), "StreamFunction": streamhandler.Routes(),
	} {
		for _, r := range routes {
			want[r.Pattern()] = fn
		}
	}
	for _, p := range []string{"GET /", "GET /room/{room}", "GET /{asset}"} {
		want[p] = "WebFunction"
	}
	got := map[string]string{}
	paths, _ := dig(tpl, "Resources", "ChatApi", "Properties", "Body", "paths").(map[string]any)
	for path, ops := range paths {
		for method, op := range ops.(map[string]any) {
			uri := dig(op, "x-amazon-apigateway-integration", "uri")
			fn := ""
			for _, id := range functions {
				if refersTo(uri, id) {
					fn = id
				}
			}
			got[strings.ToUpper(method)+" "+path] = fn
		}
	}
	for k, fn := range want {
		if got[k] != fn {
			t.Errorf("route %s goes to %q, want %s", k, got[k], fn)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("route %s is deployed but no handler serves it", k)
		}
	}
}

// TestTransformLogs checks the logs: every function has a log group of its
// own with the LogRetentionDays retention, and the API stage writes JSON
// access logs to a log group with the same retention.
func TestTransformLogs(t *testing.T) {
	t.Parallel()
	tpl := cfnTemplate(t)
	groups := resourcesOfType(tpl, "AWS::Logs::LogGroup")
	for _, fn := range functions {
		found := false
		for _, g := range groups {
			if refersTo(dig(tpl, "Resources", g, "Properties", "LogGroupName"), fn) {
				found = true
				if r := dig(tpl, "Resources", g, "Properties", "RetentionInDays", "Ref"); r != "LogRetentionDays" {
					t.Errorf("%s log group %s retention = %v, want Ref LogRetentionDays", fn, g, dig(tpl, "Resources", g, "Properties", "RetentionInDays"))
				}
			}
		}
		if !found {
			t.Errorf("%s has no log group of its own", fn)
		}
	}
	if got := dig(tpl, "Parameters", "LogRetentionDays", "Default"); fmt.Sprint(got) != "30" {
		t.Errorf("LogRetentionDays default = %v, want 30", got)
	}
	stages := resourcesOfType(tpl, "AWS::ApiGatewayV2::Stage")
	if len(stages) != 1 {
		t.Fatalf("stages %v, want one", stages)
	}
	logs := dig(tpl, "Resources", stages[0], "Properties", "AccessLogSettings")
	dest := dig(logs, "DestinationArn")
	ok := false
	for _, g := range groups {
		if refersTo(dest, g) && dig(tpl, "Resources", g, "Properties", "RetentionInDays", "Ref") == "LogRetentionDays" {
			ok = true
		}
	}
	if !ok {
		t.Errorf("access logs go to %v, want a log group with LogRetentionDays", dest)
	}
	format, _ := dig(logs, "Format").(string)
	// The format is JSON once the $context variables are filled in.
	filled := regexp.MustCompile(`\$context\.[A-Za-z.]+`).ReplaceAllString(format, "x")
	var v map[string]string
	if err := json.Unmarshal([]byte(filled), &v); err != nil {
		t.Errorf("access log format is not JSON: %v: %s", err, format)
	}
	for _, k := range []string{"status", "routeKey", "integrationError", "latencyMs"} {
		if _, ok := v[k]; !ok {
			t.Errorf("access log format lacks %q", k)
		}
	}
}

// TestTransformAlarms checks that every alarm the README's operator section
// names exists, watches the right metric and notifies the alarm topic.
func TestTransformAlarms(t *testing.T) {
	t.Parallel()
	tpl := cfnTemplate(t)
	type watch struct{ namespace, metric, dimension string }
	var got []watch
	for _, id := range resourcesOfType(tpl, "AWS::CloudWatch::Alarm") {
		p := dig(tpl, "Resources", id, "Properties")
		if !refersTo(dig(p, "AlarmActions"), "AlarmTopic") {
			t.Errorf("alarm %s does not notify AlarmTopic", id)
		}
		add := func(ns, metric any, dims any) {
			for _, d := range list(dims) {
				got = append(got, watch{fmt.Sprint(ns), fmt.Sprint(metric), fmt.Sprint(dig(d, "Name")) + "=" + refName(dig(d, "Value"))})
			}
		}
		add(dig(p, "Namespace"), dig(p, "MetricName"), dig(p, "Dimensions"))
		for _, m := range list(dig(p, "Metrics")) {
			mm := dig(m, "MetricStat", "Metric")
			add(dig(mm, "Namespace"), dig(mm, "MetricName"), dig(mm, "Dimensions"))
		}
	}
	want := []watch{
		{"AWS/ApiGateway", "5xx", "ApiId=ChatApi"},
		{"AWS/DynamoDB", "ReadThrottleEvents", "TableName=ChatTable"},
		{"AWS/DynamoDB", "WriteThrottleEvents", "TableName=ChatTable"},
		{emf.Namespace, emf.PublishFailures, emf.DimensionFunction + "=SendFunction"},
		{emf.Namespace, emf.IDRaceConflicts, emf.DimensionFunction + "=SendFunction"},
	}
	for _, fn := range functions {
		want = append(want, watch{"AWS/Lambda", "Errors", "FunctionName=" + fn}, watch{"AWS/Lambda", "Throttles", "FunctionName=" + fn})
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("no alarm on %+v", w)
		}
	}
	if sub := dig(tpl, "Resources", "AlarmTopic", "Properties", "Subscription", "Fn::If"); sub == nil || list(sub)[0] != "HasAlarmEmail" {
		t.Errorf("AlarmTopic subscription = %v, want the AlarmEmail when given", dig(tpl, "Resources", "AlarmTopic", "Properties", "Subscription"))
	}
	body, _ := json.Marshal(dig(tpl, "Resources", "Dashboard", "Properties", "DashboardBody"))
	for _, m := range []string{emf.Publishes, emf.PublishFailures, emf.IDRaceConflicts, emf.StreamHolds, emf.NextLinkCalls, "Duration", "Latency", "Invocations"} {
		if !strings.Contains(string(body), `\"`+m+`\"`) {
			t.Errorf("dashboard has no %s", m)
		}
	}
}

// refName names what an intrinsic refers to ({"Ref": X} → X), or the value.
func refName(v any) string {
	if r, ok := dig(v, "Ref").(string); ok {
		return r
	}
	return fmt.Sprint(v)
}

// TestTransformRules checks the deploy-time Rules survive the transform and
// refuse an empty FastlyServiceId and empty secret names.
func TestTransformRules(t *testing.T) {
	t.Parallel()
	tpl := cfnTemplate(t)
	rules, _ := json.Marshal(dig(tpl, "Rules"))
	for _, p := range []string{"FastlyServiceId", "FastlyApiTokenParameter", "ApiKeysParameter"} {
		if !strings.Contains(string(rules), `"Fn::Not":[{"Fn::Equals":[{"Ref":"`+p+`"},""]}]`) {
			t.Errorf("no Rule asserts %s is not empty: %s", p, rules)
		}
	}
	if d := dig(tpl, "Parameters", "FastlyServiceId", "Default"); d != nil {
		t.Errorf("FastlyServiceId has default %v; the deploy must ask for it", d)
	}
	// Every other parameter has a default, so Enter accepts it in a guided
	// deploy, and none is NoEcho (SAM re-prompts a NoEcho parameter until it
	// is not empty).
	for name, p := range dig(tpl, "Parameters").(map[string]any) {
		if _, ok := p.(map[string]any)["Default"]; !ok && name != "FastlyServiceId" {
			t.Errorf("parameter %s has no default", name)
		}
		if dig(p, "NoEcho") != nil {
			t.Errorf("parameter %s is NoEcho; secrets belong in SSM", name)
		}
	}
}

// TestTransformTracing checks the Tracing parameter both ways, as
// CloudFormation hands its value to the transform: Active traces every
// function (and grants the X-Ray write policy), PassThrough traces none.
func TestTransformTracing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(root(t), "template.yaml")
	for _, mode := range []string{"Active", "PassThrough"} {
		tpl := transformTemplate(t, path, "Tracing="+mode, "FastlyServiceId=svc")
		for _, fn := range functions {
			got := refName(dig(tpl, "Resources", fn, "Properties", "TracingConfig", "Mode"))
			role := fmt.Sprint(list(dig(tpl, "Resources", fn, "Properties", "Role", "Fn::GetAtt"))[0])
			policies, _ := json.Marshal(dig(tpl, "Resources", role, "Properties", "ManagedPolicyArns"))
			if got != "Tracing" || (mode == "Active" && !strings.Contains(string(policies), "AWSXrayWriteOnlyAccess")) {
				t.Errorf("Tracing=%s: %s TracingConfig.Mode %v, managed policies %s", mode, fn, got, policies)
			}
		}
	}
}
