package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/golang-jwt/jwt/v5"

	"github.com/fanout-chat/serverless-chat/internal/dynamo"
	"github.com/fanout-chat/serverless-chat/internal/handler"
	streamhandler "github.com/fanout-chat/serverless-chat/internal/handler/stream"
	"github.com/fanout-chat/serverless-chat/internal/wire"
	"github.com/fanout-chat/serverless-chat/internal/wire/history"
	"github.com/fanout-chat/serverless-chat/internal/wire/send"
	"github.com/fanout-chat/serverless-chat/internal/wire/stream"
	"github.com/fanout-chat/serverless-chat/tools/proc"
)

// recorder is a DynamoDB endpoint in front of DynamoDB Local that records
// the IAM actions each request needs: the operation named by X-Amz-Target,
// and for TransactWriteItems the action of each item (IAM authorises a
// transaction's items, not the transaction), and whether a Query reads an
// index.
type recorder struct {
	mu      sync.Mutex
	actions map[string]bool
	index   bool
}

// itemActions are the IAM actions of TransactWriteItems' item kinds.
var itemActions = map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}

func (rec *recorder) record(r *http.Request, body []byte) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	var in struct {
		IndexName     string
		TransactItems []map[string]json.RawMessage
	}
	_ = json.Unmarshal(body, &in)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	switch op {
	case "TransactWriteItems":
		for _, it := range in.TransactItems {
			for kind := range it {
				rec.actions["dynamodb:"+itemActions[kind]] = true
			}
		}
	case "TransactGetItems":
		rec.actions["dynamodb:GetItem"] = true
	default:
		rec.actions["dynamodb:"+op] = true
	}
	if in.IndexName != "" {
		rec.index = true
	}
}

// serve starts the recording endpoint proxying to target.
func (rec *recorder) serve(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.record(r, body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (rec *recorder) snapshot() ([]string, bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Sorted(maps.Keys(rec.actions)), rec.index
}

// step is one request of a function's scenario.
type step struct {
	method, path, body string
	header             map[string]string
	want               int
}

// TestIAMFromCalls derives each function's DynamoDB actions from the calls
// its handler makes while serving every one of its routes (against DynamoDB
// Local, through a recording endpoint) and checks the transformed template
// grants exactly those: no action missing, none unused, and the table's
// indexes only to a function that queries one.
func TestIAMFromCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short: needs DynamoDB Local (Java)")
	}
	if _, err := proc.JavaPath(); err != nil {
		t.Skipf("skipped: DynamoDB Local needs Java: %v", err)
	}
	tpl := cfnTemplate(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ddb, err := proc.StartDynamoDB(ctx, proc.DynamoConfig{})
	if err != nil {
		t.Fatalf("start DynamoDB Local: %v", err)
	}
	t.Cleanup(func() { _ = ddb.Stop() })
	const table = "chat-iam"
	admin := dynamodb.New(dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(ddb.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider(wire.LocalAccessKeyID, wire.LocalSecretKey, ""),
	})
	if err := dynamo.EnsureTable(ctx, admin, table, true); err != nil {
		t.Fatal(err)
	}
	publish := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer publish.Close()
	const sigKey = "iam-test-sig-key"
	sig, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "pushpin", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(sigKey))
	if err != nil {
		t.Fatal(err)
	}
	write := func(user string) map[string]string {
		return map[string]string{"x-api-key": "k", "x-user": user, "content-type": "application/json"}
	}
	adm := map[string]string{"x-api-key": "adm", "x-user": "admin"}
	grip := func(extra map[string]string) map[string]string {
		h := map[string]string{"grip-sig": sig, "accept": "text/event-stream"}
		maps.Copy(h, extra)
		return h
	}
	const (
		r1, r2   = "devops-exchange-ldn", "devops-bcn"
		c1, c2   = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
		c3, c4   = "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444"
		c5, c6   = "55555555-5555-4555-8555-555555555555", "66666666-6666-4666-8666-666666666666"
		r2Path   = "/room/" + r2 + "/messages"
		postPath = "/room/" + r1 + "/messages"
	)
	msg := func(text, cid string) string { return fmt.Sprintf(`{"text":%q,"clientId":%q}`, text, cid) }
	scenarios := []struct {
		fn     string
		build  wire.Builder
		routes []handler.Route
		env    map[string]string
		steps  []step
	}{
		{
			fn: "SendFunction", build: send.New, routes: handler.SendRoutes(),
			env: map[string]string{"API_KEYS": "k", "ADMIN_KEY": "adm", "GRIP_URL": publish.URL},
			steps: []step{
				{"POST", postPath, msg("first", c1), write("ana"), 201},
				{"POST", postPath, msg("first", c1), write("ana"), 200}, // the same clientId: the first message
				{"POST", postPath, msg("second", c2), write("ana"), 201},
				{"DELETE", postPath + "/2", "", write("ana"), 204}, // ana deletes her second message (id 2)
				{"POST", "/room/" + r2 + "/messages", msg("elsewhere", c3), write("bob"), 201},
				{"DELETE", "/admin/room/" + r1 + "/ana", "", adm, 204},
				{"POST", postPath, msg("first again", c1), write("ana"), 201}, // its key points at a cleared message
				{"DELETE", "/admin/users/bob", "", adm, 204},
				{"POST", postPath, msg("fourth", c4), write("carl"), 201},
				{"DELETE", "/admin/room/" + r1, "", adm, 204},
				{"POST", "/room/" + r1 + "/typing", `{"typing":true}`, write("ana"), 204},
				// In r2: 1 bob's message, 2 the refresh of clearing bob, 3
				// dana's message, 4 its edit, 5 a reaction; history and
				// stream read them back below.
				{"POST", r2Path, msg("to edit", c5), write("dana"), 201},
				{"PATCH", r2Path + "/3", msg("edited", c6), write("dana"), 200},
				{"PUT", r2Path + "/3/reactions", `{"emoji":"👍","on":true}`, write("erin"), 200},
			},
		},
		{
			fn: "HistoryFunction", build: history.New, routes: handler.HistoryRoutes(),
			steps: []step{
				{"GET", "/rooms", "", nil, 200},
				{"GET", postPath, "", nil, 200},
				{"GET", postPath + "?before=3&limit=1", "", nil, 200},
				{"GET", r2Path, "", nil, 200}, // an edited message with a reaction
			},
		},
		{
			fn: "StreamFunction", build: stream.New, routes: streamhandler.Routes(),
			env: map[string]string{"GRIP_VERIFY_KEY": sigKey, "GRIP_VERIFY_ISS": "pushpin", "GRIP_URL": publish.URL},
			steps: []step{
				{"GET", "/room/" + r1 + "/events", "", grip(nil), 200},
				{"GET", "/room/" + r1 + "/events", "", grip(map[string]string{"last-event-id": "1"}), 200},
				{"GET", "/room/" + r1 + "/events?lastEventId=2", "", grip(map[string]string{"grip-last": "room-" + r1 + "; last-id=2"}), 200},
				{"GET", "/room/" + r1 + "/events?live=1", "", grip(map[string]string{"x-user": "ana"}), 200},
				{"GET", "/room/" + r2 + "/events", "", grip(map[string]string{"last-event-id": "2"}), 200}, // replays the edited message
			},
		},
	}
	quiet := slog.New(slog.DiscardHandler)
	for _, sc := range scenarios {
		rec := &recorder{actions: map[string]bool{}}
		env := map[string]string{"TABLE_NAME": table, "DYNAMODB_ENDPOINT": rec.serve(t, ddb.Endpoint()), "AWS_REGION": "us-east-1"}
		maps.Copy(env, sc.env)
		h, err := sc.build(ctx, func(k string) string { return env[k] }, quiet)
		if err != nil {
			t.Fatalf("%s: %v", sc.fn, err)
		}
		mux := http.NewServeMux()
		served := map[string]bool{}
		for _, r := range sc.routes {
			mux.HandleFunc(r.Pattern(), func(w http.ResponseWriter, req *http.Request) {
				served[r.Pattern()] = true
				h.ServeHTTP(w, req)
			})
		}
		for _, s := range sc.steps {
			req := httptest.NewRequestWithContext(ctx, s.method, s.path, strings.NewReader(s.body))
			for k, v := range s.header {
				req.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			if w.Code != s.want {
				t.Errorf("%s %s %s: %d %s, want %d", sc.fn, s.method, s.path, w.Code, strings.TrimSpace(w.Body.String()), s.want)
			}
		}
		for _, r := range sc.routes {
			if !served[r.Pattern()] {
				t.Errorf("%s: the scenario never calls %s; add a step so its DynamoDB calls count", sc.fn, r.Pattern())
			}
		}
		actions, index := rec.snapshot()
		granted, grantedIndex := dynamoGrants(t, tpl, sc.fn)
		if !slices.Equal(actions, granted) {
			t.Errorf("%s: template grants %v, the code calls %v", sc.fn, granted, actions)
		}
		if index != grantedIndex {
			t.Errorf("%s: index access granted %v, the code queries an index: %v", sc.fn, grantedIndex, index)
		}
		t.Logf("%s: %v (index: %v)", sc.fn, actions, index)
	}
	if got, _ := dynamoGrants(t, tpl, "WebFunction"); len(got) != 0 {
		t.Errorf("WebFunction is granted %v; it never calls DynamoDB", got)
	}
}

// dynamoGrants returns the DynamoDB actions the transformed template's role
// of fn allows, sorted, and whether they reach the table's indexes. It fails
// on a statement with other resources than the chat table and its indexes.
func dynamoGrants(t *testing.T, tpl map[string]any, fn string) ([]string, bool) {
	t.Helper()
	set := map[string]bool{}
	index := false
	for _, st := range roleStatements(t, tpl, fn) {
		for _, a := range list(dig(st, "Action")) {
			s := fmt.Sprint(a)
			if !strings.HasPrefix(s, "dynamodb:") {
				continue
			}
			set[s] = true
			for _, r := range list(dig(st, "Resource")) {
				b, _ := json.Marshal(r)
				switch {
				case string(b) == `{"Fn::GetAtt":["ChatTable","Arn"]}`:
				case strings.Contains(string(b), "${ChatTable.Arn}/index/"):
					index = true
				default:
					t.Errorf("%s: %s on %s, not the chat table", fn, s, b)
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(set)), index
}

// roleStatements returns the inline policy statements of fn's role.
func roleStatements(t *testing.T, tpl map[string]any, fn string) []any {
	t.Helper()
	role := dig(tpl, "Resources", fn, "Properties", "Role", "Fn::GetAtt")
	name := fmt.Sprint(list(role)[0])
	var out []any
	for _, p := range list(dig(tpl, "Resources", name, "Properties", "Policies")) {
		out = append(out, list(dig(p, "PolicyDocument", "Statement"))...)
	}
	return out
}

// TestIAMSecrets checks the SSM grants: a function may read exactly the
// parameters its environment names (<VAR>_PARAMETER), with
// ssm:GetParameters and nothing else, and a function that names none gets
// no SSM access at all. Every inline action is DynamoDB's or this one.
func TestIAMSecrets(t *testing.T) {
	t.Parallel()
	tpl := cfnTemplate(t)
	for _, fn := range functions {
		var want []string
		for k, v := range dig(tpl, "Resources", fn, "Properties", "Environment", "Variables").(map[string]any) {
			if strings.HasSuffix(k, "_PARAMETER") {
				want = append(want, refName(v))
			}
		}
		sort.Strings(want)
		var got []string
		for _, st := range roleStatements(t, tpl, fn) {
			for _, a := range list(dig(st, "Action")) {
				s := fmt.Sprint(a)
				switch {
				case strings.HasPrefix(s, "dynamodb:"):
				case s == "ssm:GetParameters":
					for _, r := range list(dig(st, "Resource")) {
						b, _ := json.Marshal(r)
						m := regexp.MustCompile(`:parameter\$\{(\w+)\}`).FindStringSubmatch(string(b))
						if m == nil {
							t.Errorf("%s: ssm:GetParameters on %s, not one named parameter", fn, b)
							continue
						}
						got = append(got, m[1])
					}
				default:
					t.Errorf("%s: inline action %s is neither DynamoDB's nor ssm:GetParameters", fn, s)
				}
			}
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: may read SSM parameters %v, its environment names %v", fn, got, want)
		}
	}
}
