package deploy

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/fanout-chat/serverless-chat/internal/dynamo"
	"github.com/fanout-chat/serverless-chat/internal/wire"
	"github.com/fanout-chat/serverless-chat/tools/apigw"
	"github.com/fanout-chat/serverless-chat/tools/proc"
)

// BenchmarkSendColdStartSecrets measures what reading the secrets from SSM
// adds to the send function's cold start: its real bootstrap under the
// Lambda RIE, from start to the answer of a first send, with the secrets in
// the environment (the baseline, as locally) and read from SSM (a local
// server speaking the SSM protocol over TLS, as in AWS but without the
// network's round trips). Reported: the median cold start of each, in ms.
//
//	go test -run '^$' -bench SendColdStartSecrets -benchtime 10x ./tests/deploy/
func BenchmarkSendColdStartSecrets(b *testing.B) {
	if _, err := proc.JavaPath(); err != nil {
		b.Skipf("skipped: DynamoDB Local needs Java: %v", err)
	}
	ctx := context.Background()
	ddb, err := proc.StartDynamoDB(ctx, proc.DynamoConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = ddb.Stop() }()
	const table = "chat-coldstart"
	admin := dynamodb.New(dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(ddb.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider(wire.LocalAccessKeyID, wire.LocalSecretKey, ""),
	})
	if err := dynamo.EnsureTable(ctx, admin, table, true); err != nil {
		b.Fatal(err)
	}
	publish := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer publish.Close()
	ssmSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Names []string }
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &in)
		type param struct{ Name, Type, Value string }
		out := struct {
			Parameters        []param
			InvalidParameters []string
		}{InvalidParameters: []string{}}
		for _, n := range in.Names {
			out.Parameters = append(out.Parameters, param{n, "SecureString", "k-" + filepath.Base(n)})
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(out)
	}))
	defer ssmSrv.Close()
	// The bootstrap trusts the test server's certificate through SSL_CERT_FILE.
	caFile := filepath.Join(b.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ssmSrv.Certificate().Raw}), 0o600); err != nil {
		b.Fatal(err)
	}
	bin, err := proc.BuildBootstrap(ctx, "./functions/send", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	common := []string{
		"TABLE_NAME=" + table, "DYNAMODB_ENDPOINT=" + ddb.Endpoint(), "GRIP_URL=" + publish.URL,
		"AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=SECRET",
		"AWS_SESSION_TOKEN=TOKEN", "LOG_LEVEL=WARN", "AWS_LAMBDA_LOG_LEVEL=WARN", "RATE_LIMITS=send=60000/1m/10000",
	}
	variants := []struct {
		name, key string
		env       []string
	}{
		{"baseline=env", "env-key", []string{"API_KEYS=env-key", "ADMIN_KEY=adm"}},
		{"ssm", "k-api-keys", []string{
			"API_KEYS_PARAMETER=/chat/api-keys", "ADMIN_KEY_PARAMETER=/chat/admin-key",
			"AWS_ENDPOINT_URL_SSM=" + ssmSrv.URL, "SSL_CERT_FILE=" + caFile,
		}},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			var colds []time.Duration
			for b.Loop() {
				ev := events.APIGatewayV2HTTPRequest{
					Version: "2.0", RouteKey: "POST /room/{room}/messages", RawPath: "/room/devops-bcn/messages",
					Headers: map[string]string{"content-type": "application/json", "x-api-key": v.key, "x-user": "cold"},
					Body:    fmt.Sprintf(`{"text":"cold start","clientId":"%s"}`, newUUID()),
				}
				ev.RequestContext.HTTP.Method = http.MethodPost
				ev.RequestContext.HTTP.Path = ev.RawPath
				ev.RequestContext.RouteKey = ev.RouteKey
				ev.PathParameters = map[string]string{"room": "devops-bcn"}
				payload, err := apigw.MarshalEvent(ev)
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				rie, err := proc.StartRIE(ctx, proc.RIEConfig{Bootstrap: bin, Env: append(append([]string{}, common...), v.env...)})
				if err != nil {
					b.Fatal(err)
				}
				raw, err := rie.Invoke(ctx, payload)
				cold := time.Since(t0)
				_ = rie.Stop()
				if err != nil {
					b.Fatal(err)
				}
				resp, err := apigw.DecodeResponse(raw)
				if err != nil || resp.StatusCode != http.StatusCreated {
					b.Fatalf("first send: %v %d %s", err, resp.StatusCode, resp.Body)
				}
				colds = append(colds, cold)
			}
			sort.Slice(colds, func(i, j int) bool { return colds[i] < colds[j] })
			b.ReportMetric(float64(colds[len(colds)/2].Microseconds())/1000, "ms-median-cold")
		})
	}
}

// newUUID returns a random version 4 UUID, a fresh clientId.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
