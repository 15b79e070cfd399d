package secrets_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/fanout-chat/serverless-chat/internal/secrets"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// fakeSSM answers GetParameters from a map and records the calls.
type fakeSSM struct {
	params map[string]string
	mu     sync.Mutex
	calls  []*ssm.GetParametersInput
}

func (f *fakeSSM) GetParameters(_ context.Context, in *ssm.GetParametersInput, _ ...func(*ssm.Options)) (*ssm.GetParametersOutput, error) {
	f.mu.Lock()
	f.calls = append(f.calls, in)
	f.mu.Unlock()
	out := &ssm.GetParametersOutput{}
	for _, n := range in.Names {
		if v, ok := f.params[n]; ok {
			out.Parameters = append(out.Parameters, types.Parameter{Name: aws.String(n), Value: aws.String(v), Type: types.ParameterTypeSecureString})
		} else {
			out.InvalidParameters = append(out.InvalidParameters, n)
		}
	}
	return out, nil
}

func TestWanted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want map[string]string
	}{
		{"nothing named", map[string]string{"API_KEYS": "k"}, map[string]string{}},
		{"named", map[string]string{"API_KEYS_PARAMETER": "/a/keys", "ADMIN_KEY_PARAMETER": ""}, map[string]string{"API_KEYS": "/a/keys"}},
		{"a set variable wins over its parameter", map[string]string{"API_KEYS": "k", "API_KEYS_PARAMETER": "/a/keys"}, map[string]string{}},
		{"blank variable does not", map[string]string{"API_KEYS": "  ", "API_KEYS_PARAMETER": " /a/keys "}, map[string]string{"API_KEYS": "/a/keys"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := secrets.Wanted(env(tt.env), "API_KEYS", "ADMIN_KEY")
			if len(got) != len(tt.want) {
				t.Fatalf("Wanted = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("Wanted[%s] = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("one call, decrypted, values over the environment", func(t *testing.T) {
		t.Parallel()
		f := &fakeSSM{params: map[string]string{"/c/keys": "k1,k2", "/c/token": "tok"}}
		getenv, err := secrets.Resolve(ctx, f, env(map[string]string{
			"API_KEYS_PARAMETER": "/c/keys", "FASTLY_API_TOKEN_PARAMETER": "/c/token", "ADMIN_KEY_PARAMETER": "", "ROOMS": "r:R",
		}), "API_KEYS", "ADMIN_KEY", "FASTLY_API_TOKEN")
		if err != nil {
			t.Fatal(err)
		}
		if len(f.calls) != 1 {
			t.Fatalf("%d GetParameters calls, want 1", len(f.calls))
		}
		if in := f.calls[0]; !aws.ToBool(in.WithDecryption) || !slices.Equal(in.Names, []string{"/c/keys", "/c/token"}) {
			t.Errorf("call = names %v, decryption %v", in.Names, aws.ToBool(in.WithDecryption))
		}
		for k, want := range map[string]string{"API_KEYS": "k1,k2", "FASTLY_API_TOKEN": "tok", "ADMIN_KEY": "", "ROOMS": "r:R"} {
			if got := getenv(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
	})
	t.Run("nothing named: no call", func(t *testing.T) {
		t.Parallel()
		f := &fakeSSM{}
		getenv, err := secrets.Resolve(ctx, f, env(map[string]string{"API_KEYS": "local"}), "API_KEYS")
		if err != nil {
			t.Fatal(err)
		}
		if len(f.calls) != 0 || getenv("API_KEYS") != "local" {
			t.Errorf("calls %d, API_KEYS %q", len(f.calls), getenv("API_KEYS"))
		}
	})
	t.Run("missing parameter names the variable", func(t *testing.T) {
		t.Parallel()
		f := &fakeSSM{params: map[string]string{"/c/keys": "k"}}
		_, err := secrets.Resolve(ctx, f, env(map[string]string{"API_KEYS_PARAMETER": "/c/keys", "FASTLY_API_TOKEN_PARAMETER": "/c/typo"}),
			"API_KEYS", "FASTLY_API_TOKEN")
		if !errors.Is(err, secrets.ErrNotFound) || !strings.Contains(err.Error(), "/c/typo (for FASTLY_API_TOKEN)") {
			t.Fatalf("err = %v, want ErrNotFound naming /c/typo and FASTLY_API_TOKEN", err)
		}
	})
}

// ssmServer speaks the SSM JSON protocol (awsJson1_1, X-Amz-Target
// AmazonSSM.GetParameters) for GetParameters, as the real endpoint does.
func ssmServer(t testing.TB, params map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("X-Amz-Target"); got != "AmazonSSM.GetParameters" {
			http.Error(w, `{"__type":"UnknownOperationException"}`, http.StatusBadRequest)
			return
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			http.Error(w, `{"__type":"MissingAuthenticationTokenException"}`, http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var in struct {
			Names          []string
			WithDecryption bool
		}
		if err := json.Unmarshal(body, &in); err != nil || !in.WithDecryption {
			http.Error(w, `{"__type":"ValidationException"}`, http.StatusBadRequest)
			return
		}
		type param struct{ Name, Type, Value string }
		out := struct {
			Parameters        []param
			InvalidParameters []string
		}{Parameters: []param{}, InvalidParameters: []string{}}
		for _, n := range in.Names {
			if v, ok := params[n]; ok {
				out.Parameters = append(out.Parameters, param{n, "SecureString", v})
			} else {
				out.InvalidParameters = append(out.InvalidParameters, n)
			}
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestResolveSDK runs Resolve through the real SDK client against a local
// server speaking the SSM protocol: the request the function sends in AWS.
func TestResolveSDK(t *testing.T) {
	t.Parallel()
	srv := ssmServer(t, map[string]string{"/chat/api-keys": "edge-key"})
	client := ssm.New(ssm.Options{
		HTTPClient:   srv.Client(),
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
	getenv, err := secrets.Resolve(context.Background(), client, env(map[string]string{"API_KEYS_PARAMETER": "/chat/api-keys"}), "API_KEYS")
	if err != nil {
		t.Fatal(err)
	}
	if got := getenv("API_KEYS"); got != "edge-key" {
		t.Errorf("API_KEYS = %q, want edge-key", got)
	}
}

// BenchmarkColdStartSecrets measures what reading the secrets adds to a
// cold start, apart from the network: loading the AWS configuration from a
// Lambda-like environment, building the SSM client and one signed
// GetParameters call over a new TLS connection to a local server (in AWS add
// the round trips to the regional SSM endpoint: TCP, TLS, the call).
func BenchmarkColdStartSecrets(b *testing.B) {
	srv := ssmServer(b, map[string]string{"/chat/api-keys": "k", "/chat/token": "t", "/chat/admin": "a"})
	b.Setenv("AWS_REGION", "eu-west-1")
	b.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	b.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
	b.Setenv("AWS_SESSION_TOKEN", "TOKEN")
	b.Setenv("AWS_ENDPOINT_URL_SSM", srv.URL)
	// As in Lambda: no CA bundle or shared files to load.
	b.Setenv("AWS_CA_BUNDLE", "")
	b.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	b.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	vars := map[string]string{"API_KEYS_PARAMETER": "/chat/api-keys", "FASTLY_API_TOKEN_PARAMETER": "/chat/token", "ADMIN_KEY_PARAMETER": "/chat/admin"}
	ctx := context.Background()
	// The baseline: the configuration load every function's cold start
	// already pays for its DynamoDB client.
	b.Run("baseline=config-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := awsconfig.LoadDefaultConfig(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("config+ssm", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cfg, err := awsconfig.LoadDefaultConfig(ctx)
			if err != nil {
				b.Fatal(err)
			}
			// A fresh transport each time, as at a cold start: no pooled connection.
			client := ssm.NewFromConfig(cfg, func(o *ssm.Options) {
				o.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
			})
			getenv, err := secrets.Resolve(ctx, client, env(vars), "API_KEYS", "FASTLY_API_TOKEN", "ADMIN_KEY")
			if err != nil || getenv("ADMIN_KEY") != "a" {
				b.Fatalf("resolve: %v", err)
			}
		}
	})
}
