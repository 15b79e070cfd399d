package proc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFindRoot(t *testing.T) {
	t.Parallel()
	repo := t.TempDir()
	if err := os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module example.com/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	nested := filepath.Join(repo, "a", "b")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	bare := t.TempDir()
	tests := []struct {
		name, dir, want string
		wantErr         bool
	}{
		{name: "the root itself", dir: repo, want: repo},
		{name: "a directory below it", dir: nested, want: repo},
		{name: "no go.mod above", dir: bare, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := FindRoot(tt.dir)
			if tt.wantErr {
				if err == nil || !strings.HasPrefix(err.Error(), "proc: no go.mod in "+tt.dir) {
					t.Fatalf("FindRoot(%s) = %q, %v; want a proc error naming the directory", tt.dir, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("FindRoot(%s) = %q, %v; want %q", tt.dir, got, err, tt.want)
			}
		})
	}
}

// TestToolsFromOutsideCheckout: with the working directory outside any
// checkout (the built devstack run from elsewhere), a Root finds the tools
// under the checkout's .cache and DynamoDB Local starts; without it the
// working-directory search fails as before. Not parallel: it changes the
// working directory.
func TestToolsFromOutsideCheckout(t *testing.T) {
	requireTools(t)
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if _, err := DynamoDBLocalDir(); err == nil || !strings.Contains(err.Error(), "no go.mod above the working directory") {
		t.Fatalf("DynamoDBLocalDir() outside the checkout: %v, want the working-directory error", err)
	}
	if _, err := riePathIn(root); err != nil {
		t.Errorf("RIE with Root %s: %v", root, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := StartDynamoDB(ctx, DynamoConfig{Root: root, Log: testLog(t, "dynamodb")})
	if err != nil {
		t.Fatalf("start DynamoDB Local with Root %s outside the checkout: %v", root, err)
	}
	if err := d.Stop(); err != nil {
		t.Error(err)
	}
	if _, err := BuildBootstrapIn(ctx, root, "./functions/history", t.TempDir()); err != nil {
		t.Errorf("build a bootstrap with root %s outside the checkout: %v", root, err)
	}
	if _, err := BuildBootstrap(ctx, "./functions/history", t.TempDir()); err == nil {
		t.Error("BuildBootstrap outside the checkout succeeded; want the working-directory error")
	}
}
