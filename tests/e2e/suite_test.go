package e2e

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestEveryTestRequiresSuite: under -short the stack and browser are not
// started, so a test that does not begin with requireSuite(t) would use
// them nil. This check runs under -short too and names such a test.
func TestEveryTestRequiresSuite(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") || fn.Name.Name == "TestMain" || fn.Name.Name == "TestEveryTestRequiresSuite" || fn.Name.Name == "TestRoomsAreFresh" {
				continue
			}
			if !startsWithRequireSuite(fn) {
				t.Errorf("%s: %s does not start with requireSuite(t)", name, fn.Name.Name)
			}
		}
	}
}

func startsWithRequireSuite(fn *ast.FuncDecl) bool {
	if fn.Body == nil || len(fn.Body.List) == 0 {
		return false
	}
	es, ok := fn.Body.List[0].(*ast.ExprStmt)
	if !ok {
		return false
	}
	call, ok := es.X.(*ast.CallExpr)
	if !ok {
		return false
	}
	id, ok := call.Fun.(*ast.Ident)
	return ok && id.Name == "requireSuite"
}

// roomPath is a room named in a path literal ("/room/edits/…"), not taken
// from freshRoom.
var roomPath = regexp.MustCompile(`/room/[a-z0-9]`)

// roomArg is the position of the room argument of the tab and stack
// methods that take one.
var roomArg = map[string]int{"open": 1, "send": 1, "wipeRoom": 1}

// TestRoomsAreFresh: go test -count=N runs every test N times against one
// stack, so a test that names its room in a literal finds the previous
// run's messages there. This check runs under -short too and names every
// room given as a literal instead of by freshRoom.
func TestRoomsAreFresh(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				i, ok := roomArg[sel.Sel.Name]
				if !ok || len(n.Args) <= i {
					return true
				}
				if lit, ok := n.Args[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					t.Errorf("%s: %s(…, %s): take the room from freshRoom", fset.Position(lit.Pos()), sel.Sel.Name, lit.Value)
				}
			case *ast.BasicLit:
				if n.Kind != token.STRING {
					return true
				}
				if v, err := strconv.Unquote(n.Value); err == nil && roomPath.MatchString(v) {
					t.Errorf("%s: path %s names a room: take it from freshRoom", fset.Position(n.Pos()), n.Value)
				}
			}
			return true
		})
	}
}
