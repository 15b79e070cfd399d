package apigw

import (
	"fmt"
	"net/url"
	"strings"
)

// segment kinds, ranked by specificity: a literal beats a {param}, which
// beats a greedy {proxy+}.
const (
	segGreedy = iota
	segParam
	segLiteral
)

type segment struct {
	kind int
	text string // literal text or parameter name
}

// parsePattern splits a route path such as "/room/{room}/{proxy+}".
func parsePattern(path string) ([]segment, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("apigw: route path %q must start with /", path)
	}
	if path == "/" {
		return nil, nil
	}
	parts := strings.Split(path[1:], "/")
	segs := make([]segment, 0, len(parts))
	for i, p := range parts {
		switch {
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}"):
			if i != len(parts)-1 {
				return nil, fmt.Errorf("apigw: route path %q: greedy variable must be last", path)
			}
			segs = append(segs, segment{kind: segGreedy, text: p[1 : len(p)-2]})
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			segs = append(segs, segment{kind: segParam, text: p[1 : len(p)-1]})
		default:
			segs = append(segs, segment{kind: segLiteral, text: p})
		}
	}
	return segs, nil
}

// router selects routes the way an HTTP API does: the most specific path
// wins (literal segments over {param} over {proxy+}, compared left to
// right), then an exact method over ANY; with no match, $default.
type router struct {
	routes []compiledRoute
	dflt   *Route
}

type compiledRoute struct {
	Route
	segs []segment
}

// newRouter compiles routes; a repeated route key is an error, as it is for
// API Gateway.
func newRouter(routes []Route) (*router, error) {
	rt := &router{}
	seen := map[string]string{}
	for _, r := range routes {
		if prev, dup := seen[r.Key()]; dup {
			return nil, fmt.Errorf("apigw: route %q is declared by %s and %s", r.Key(), prev, r.Function)
		}
		seen[r.Key()] = r.Function
		if r.Path == "" {
			d := r
			rt.dflt = &d
			continue
		}
		segs, err := parsePattern(r.Path)
		if err != nil {
			return nil, err
		}
		rt.routes = append(rt.routes, compiledRoute{Route: r, segs: segs})
	}
	return rt, nil
}

// match returns the route for a request and its path parameters. rawPath is
// the escaped request path; parameter values are unescaped.
func (rt *router) match(method, rawPath string) (Route, map[string]string, bool) {
	var parts []string
	if rawPath != "/" && rawPath != "" {
		parts = strings.Split(strings.TrimPrefix(rawPath, "/"), "/")
	}
	var (
		best       *compiledRoute
		bestParams map[string]string
		bestRank   []int
	)
	for i := range rt.routes {
		cr := &rt.routes[i]
		if cr.Method != method && cr.Method != "ANY" {
			continue
		}
		params, rank, ok := cr.matchPath(parts)
		if !ok {
			continue
		}
		if cr.Method == "ANY" {
			rank = append(rank, 0)
		} else {
			rank = append(rank, 1)
		}
		if best == nil || compareRank(rank, bestRank) > 0 {
			best, bestParams, bestRank = cr, params, rank
		}
	}
	if best != nil {
		return best.Route, bestParams, true
	}
	if rt.dflt != nil {
		return *rt.dflt, nil, true
	}
	return Route{}, nil, false
}

// matchPath matches the split request path, returning the parameters and a
// rank: one specificity per pattern segment.
func (cr *compiledRoute) matchPath(parts []string) (map[string]string, []int, bool) {
	var params map[string]string
	rank := make([]int, 0, len(cr.segs)+1)
	for i, s := range cr.segs {
		if s.kind == segGreedy {
			rest := strings.Join(parts[min(i, len(parts)):], "/")
			// A greedy variable, like a plain one, matches at least one
			// character: "/room/x/" is not "/room/x/{proxy+}".
			if rest == "" {
				return nil, nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[s.text] = unescape(rest)
			return params, append(rank, segGreedy), true
		}
		if i >= len(parts) {
			return nil, nil, false
		}
		switch s.kind {
		case segLiteral:
			if unescape(parts[i]) != s.text {
				return nil, nil, false
			}
		case segParam:
			if parts[i] == "" {
				return nil, nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[s.text] = unescape(parts[i])
		}
		rank = append(rank, s.kind)
	}
	if len(parts) != len(cr.segs) {
		return nil, nil, false
	}
	return params, rank, true
}

// compareRank compares two ranks element by element; at a common prefix
// the longer (more segments matched exactly) wins.
func compareRank(a, b []int) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] - b[i]
		}
	}
	return len(a) - len(b)
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
