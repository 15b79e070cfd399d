package apigw

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// fuzzRoutes are the chat's routes (template.yaml) plus a greedy and an ANY
// route, as API Gateway would hold them.
var fuzzRoutes = []Route{
	{"GET", "/rooms", "HistoryFunction"},
	{"GET", "/room/{room}/messages", "HistoryFunction"},
	{"POST", "/room/{room}/messages", "SendFunction"},
	{"DELETE", "/room/{room}/messages/{id}", "SendFunction"},
	{"DELETE", "/admin/room/{room}", "SendFunction"},
	{"DELETE", "/admin/room/{room}/{user}", "SendFunction"},
	{"DELETE", "/admin/users/{user}", "SendFunction"},
	{"GET", "/room/{room}/events", "StreamFunction"},
	{"GET", "/room/{room}", "WebFunction"},
	{"GET", "/", "WebFunction"},
	{"GET", "/{proxy+}", "WebFunction"},
	{"ANY", "/room/{room}/{proxy+}", "WebFunction"},
}

// FuzzRouteMatch: matching never depends on the order routes are declared
// in, a matched route's literal segments equal the request's, and every
// {param} of a matched route is non-empty.
func FuzzRouteMatch(f *testing.F) {
	for _, s := range []string{"/room/lobby/events", "/room/lobby/messages/12", "/room/%6Cobby/events", "/room//events",
		"/admin/room/a/b", "/", "", "/a/b/c/d", "/room/lobby/messages/", "/room/a%2Fb/events", "//", "/room/%zz/events"} {
		f.Add("GET", s)
		f.Add("DELETE", s)
	}
	fwd, err := newRouter(fuzzRoutes)
	if err != nil {
		f.Fatal(err)
	}
	reversed := slices.Clone(fuzzRoutes)
	slices.Reverse(reversed)
	rev, err := newRouter(reversed)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		r1, p1, ok1 := fwd.match(method, path)
		r2, p2, ok2 := rev.match(method, path)
		if ok1 != ok2 || r1 != r2 || !maps.Equal(p1, p2) {
			t.Fatalf("%s %q: %v %v %v in declaration order, %v %v %v reversed", method, path, r1, p1, ok1, r2, p2, ok2)
		}
		if !ok1 || r1.Path == "" {
			return
		}
		segs, err := parsePattern(r1.Path)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
		for i, s := range segs {
			switch s.kind {
			case segLiteral:
				if i >= len(parts) || unescape(parts[i]) != s.text {
					t.Fatalf("%s %q matched %s at literal %q", method, path, r1.Key(), s.text)
				}
			case segParam, segGreedy:
				if p1[s.text] == "" {
					t.Fatalf("%s %q matched %s with an empty %s", method, path, r1.Key(), s.text)
				}
			}
		}
	})
}
