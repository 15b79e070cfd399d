package apigw

import (
	"reflect"
	"testing"
)

// TestRouterPriority follows the route-selection example of the API Gateway
// HTTP API developer guide, plus the chat's own routes.
func TestRouterPriority(t *testing.T) {
	t.Parallel()
	rt, err := newRouter([]Route{
		{Method: "GET", Path: "/pets/dog/1", Function: "exact"},
		{Method: "GET", Path: "/pets/dog/{id}", Function: "param"},
		{Method: "GET", Path: "/pets/{proxy+}", Function: "petsGreedy"},
		{Method: "ANY", Path: "/{proxy+}", Function: "rootGreedy"},
		{Method: "GET", Path: "/room/{room}/messages", Function: "history"},
		{Method: "POST", Path: "/room/{room}/messages", Function: "send"},
		{Method: "GET", Path: "/room/{room}/events", Function: "stream"},
		{Method: "ANY", Path: "/room/{room}", Function: "anyRoom"},
		{Method: "GET", Path: "/room/{room}", Function: "getRoom"},
		{Method: "GET", Path: "/", Function: "root"},
		{Function: "default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path string
		want               string
		params             map[string]string
	}{
		{"full match beats variable", "GET", "/pets/dog/1", "exact", nil},
		{"variable beats greedy", "GET", "/pets/dog/2", "param", map[string]string{"id": "2"}},
		{"prefix greedy beats root greedy", "GET", "/pets/cat/1", "petsGreedy", map[string]string{"proxy": "cat/1"}},
		{"method mismatch falls to ANY greedy", "POST", "/pets/dog/1", "rootGreedy", map[string]string{"proxy": "pets/dog/1"}},
		{"exact method beats ANY", "GET", "/room/a", "getRoom", map[string]string{"room": "a"}},
		{"ANY takes other methods", "PUT", "/room/a", "anyRoom", map[string]string{"room": "a"}},
		{"same path, method picks function", "POST", "/room/a/messages", "send", map[string]string{"room": "a"}},
		{"escaped parameter is decoded", "GET", "/room/a%2Fb/events", "stream", map[string]string{"room": "a/b"}},
		{"root", "GET", "/", "root", nil},
		{"root greedy does not match root", "POST", "/", "default", nil},
		{"empty segment is no parameter", "GET", "/room//events", "rootGreedy", map[string]string{"proxy": "room//events"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, params, ok := rt.match(tt.method, tt.path)
			if !ok || r.Function != tt.want {
				t.Fatalf("match(%s %s) = %q, %v; want %q", tt.method, tt.path, r.Function, ok, tt.want)
			}
			if !reflect.DeepEqual(params, tt.params) {
				t.Fatalf("params = %v, want %v", params, tt.params)
			}
		})
	}
}

func TestRouterNoMatch(t *testing.T) {
	t.Parallel()
	rt, err := newRouter([]Route{{Method: "GET", Path: "/rooms", Function: "f"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, method, path string }{
		{"unknown path", "GET", "/nope"},
		{"trailing slash is another path", "GET", "/rooms/"},
		{"wrong method", "POST", "/rooms"},
		{"HEAD is not GET", "HEAD", "/rooms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if r, _, ok := rt.match(tt.method, tt.path); ok {
				t.Fatalf("matched %q", r.Key())
			}
		})
	}
}

func TestRouterDuplicateKey(t *testing.T) {
	t.Parallel()
	_, err := newRouter([]Route{
		{Method: "GET", Path: "/a", Function: "f"},
		{Method: "GET", Path: "/a", Function: "g"},
	})
	if err == nil {
		t.Fatal("duplicate route accepted")
	}
}
