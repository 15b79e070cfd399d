package apigw

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func loadTestTemplate(t *testing.T, params map[string]string) *Template {
	t.Helper()
	tmpl, err := LoadTemplate(filepath.Join("testdata", "template.yaml"), params)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestParseTemplateRoutes(t *testing.T) {
	t.Parallel()
	tmpl := loadTestTemplate(t, nil)
	var got []string
	for _, r := range tmpl.Routes {
		got = append(got, r.Key()+" → "+r.Function)
	}
	want := []string{
		"GET /room/{room}/messages → HistoryFunction",
		"GET /rooms → HistoryFunction",
		"DELETE /room/{room}/messages/{id} → SendFunction",
		"POST /room/{room}/messages → SendFunction",
		"GET /room/{room}/events → StreamFunction",
		"ANY /{proxy+} → WebFunction",
		"GET / → WebFunction",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("routes:\n got %q\nwant %q", got, want)
	}
	if ids := tmpl.FunctionIDs(); !reflect.DeepEqual(ids, []string{"HistoryFunction", "SendFunction", "StreamFunction", "WebFunction"}) {
		t.Fatalf("functions = %v", ids)
	}
	if tmpl.Tables["ChatTable"] != "local-chat" {
		t.Fatalf("tables = %v", tmpl.Tables)
	}
}

func TestParseTemplateFunctionProperties(t *testing.T) {
	t.Parallel()
	tmpl := loadTestTemplate(t, nil)
	tests := []struct {
		name    string
		id      string
		timeout time.Duration
		memory  int
	}{
		{"function timeout wins over Globals", "SendFunction", 5 * time.Second, 128},
		{"Globals timeout applies", "HistoryFunction", 10 * time.Second, 256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fn := tmpl.Functions[tt.id]
			if fn.Timeout != tt.timeout || fn.MemorySize != tt.memory {
				t.Fatalf("timeout %s memory %d, want %s %d", fn.Timeout, fn.MemorySize, tt.timeout, tt.memory)
			}
			if fn.Runtime != "provided.al2023" || fn.Handler != "bootstrap" || fn.CodeURI != "." {
				t.Fatalf("runtime %q handler %q codeUri %q", fn.Runtime, fn.Handler, fn.CodeURI)
			}
		})
	}
}

func TestTemplateEnvironment(t *testing.T) {
	t.Parallel()
	envVars, err := ParseEnvVars([]byte(`{
		"Parameters": {"ROOMS": "a:A", "NOT_DECLARED": "x", "LINK_TIMEOUT": 5},
		"SendFunction": {"API_KEYS": "local-key", "ROOMS": "b:B"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		params      map[string]string
		id          string
		env         EnvVars
		want        map[string]string
		wantIgnored []string
	}{
		{
			name: "defaults, Ref to a resource, Sub, GetAtt and If to NoValue",
			id:   "SendFunction",
			want: map[string]string{
				"TABLE_NAME":  "local-chat",
				"ROOMS":       "devops-exchange-ldn:DevOps Exchange London",
				"REGION_NOTE": "us-east-1/local",
				"API_KEYS":    "",
				"TABLE_ARN":   "arn:aws:local:us-east-1:123456789012:local-chat",
			},
		},
		{
			name:   "parameter overrides reach Refs and Conditions",
			params: map[string]string{"DynamoEndpoint": "http://127.0.0.1:8000", "LinkTimeout": "30"},
			id:     "StreamFunction",
			want: map[string]string{
				"TABLE_NAME":        "local-chat",
				"ROOMS":             "devops-exchange-ldn:DevOps Exchange London",
				"REGION_NOTE":       "us-east-1/local",
				"DYNAMODB_ENDPOINT": "http://127.0.0.1:8000",
				"LINK_TIMEOUT":      "30",
			},
		},
		{
			name: "env vars: function entry wins over Parameters, undeclared ignored",
			id:   "SendFunction",
			env:  envVars,
			want: map[string]string{
				"TABLE_NAME":  "local-chat",
				"ROOMS":       "b:B",
				"REGION_NOTE": "us-east-1/local",
				"API_KEYS":    "local-key",
				"TABLE_ARN":   "arn:aws:local:us-east-1:123456789012:local-chat",
			},
			wantIgnored: []string{"LINK_TIMEOUT", "NOT_DECLARED"},
		},
		{
			name: "env vars: numbers become strings",
			id:   "StreamFunction",
			env:  envVars,
			want: map[string]string{
				"TABLE_NAME":   "local-chat",
				"ROOMS":        "a:A",
				"REGION_NOTE":  "us-east-1/local",
				"LINK_TIMEOUT": "5",
			},
			wantIgnored: []string{"NOT_DECLARED"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmpl := loadTestTemplate(t, tt.params)
			got, ignored, err := tmpl.Environment(tt.id, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("env:\n got %v\nwant %v", got, tt.want)
			}
			if !reflect.DeepEqual(ignored, tt.wantIgnored) {
				t.Errorf("ignored = %v, want %v", ignored, tt.wantIgnored)
			}
		})
	}
}

func TestParseTemplateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"not yaml", "a: [", "parse yaml"},
		{"unknown Ref", fnYAML("X: !Ref Nope", "/a", "GET"), "no such parameter or resource"},
		{"greedy not last", fnYAML("X: y", "/{p+}/a", "GET"), "greedy variable must be last"},
		{"relative path", fnYAML("X: y", "a", "GET"), "must start with /"},
		{"unsupported intrinsic", fnYAML("X: !ImportValue other", "/a", "GET"), "not supported locally"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseTemplate([]byte(tt.yaml), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// fnYAML is a one-function template with one environment variable line and
// one HttpApi route.
func fnYAML(envLine, path, method string) string {
	return `Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          ` + envLine + `
      Events:
        E:
          Type: HttpApi
          Properties:
            Path: ` + path + `
            Method: ` + method + "\n"
}
