package proc

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// requireTools fails the test when a tool is missing, and skips it under -short.
func requireTools(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real processes; not run with -short")
	}
	if err := Available(); err != nil {
		t.Fatal(err)
	}
}

// testLog returns a writer to a per-test log file under the OS temp dir, kept for post-mortems when
// the test fails.
func testLog(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.CreateTemp("", "localstack-"+name+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		if t.Failed() {
			t.Logf("%s output kept in %s", name, f.Name())
			return
		}
		os.Remove(f.Name())
	})
	return f
}

// readUntil reads from r until the text read contains want, and returns that text.
func readUntil(r *bufio.Reader, want string) (string, error) {
	var got strings.Builder
	for !strings.Contains(got.String(), want) {
		line, err := r.ReadString('\n')
		got.WriteString(line)
		if err != nil {
			return got.String(), err
		}
	}
	return got.String(), nil
}

func TestRepoRoot(t *testing.T) {
	t.Parallel()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "module github.com/fanout-chat/serverless-chat") {
		t.Errorf("RepoRoot() = %s, whose go.mod is not this module's", root)
	}
}

func TestFreePort(t *testing.T) {
	t.Parallel()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("FreePort() = %d, which cannot be listened on: %v", port, err)
	}
	l.Close()
}

// TestFreePortsDistinct: ports picked together never repeat (released one
// at a time, a few hundred picks repeat one most of the time) and each can
// be listened on.
func TestFreePortsDistinct(t *testing.T) {
	t.Parallel()
	const n = 400
	ports, err := FreePorts(n)
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != n {
		t.Fatalf("FreePorts(%d) returned %d ports", n, len(ports))
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("port %d returned twice or invalid", p)
		}
		seen[p] = true
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(ports[0]))
	if err != nil {
		t.Fatalf("FreePorts gave %d, which cannot be listened on: %v", ports[0], err)
	}
	l.Close()
}

func TestPortOrFree(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	free, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		port    int
		wantErr bool
	}{
		{name: "zero picks a port", port: 0},
		{name: "free port kept", port: free},
		{name: "busy port refused", port: busyPort, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := portOrFree(tt.port)
			if (err != nil) != tt.wantErr {
				t.Fatalf("portOrFree(%d) error = %v, want error %v", tt.port, err, tt.wantErr)
			}
			if err == nil && (got == 0 || (tt.port != 0 && got != tt.port)) {
				t.Errorf("portOrFree(%d) = %d", tt.port, got)
			}
		})
	}
}

func TestTailBuffer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		max    int
		writes []string
		want   string
	}{
		{name: "under max", max: 10, writes: []string{"ab", "cd"}, want: "abcd"},
		{name: "exactly max", max: 4, writes: []string{"ab", "cd"}, want: "abcd"},
		{name: "drops oldest", max: 4, writes: []string{"abc", "def"}, want: "cdef"},
		{name: "one big write", max: 3, writes: []string{"abcdefg"}, want: "efg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := &tailBuffer{max: tt.max}
			for _, w := range tt.writes {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if got := b.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAvailableReportsMissingTool(t *testing.T) {
	// Not parallel: changes PATH for the whole process.
	t.Setenv("PATH", t.TempDir())
	err := Available()
	if err == nil {
		t.Fatal("Available() = nil with an empty PATH")
	}
	if !strings.Contains(err.Error(), "make deps") {
		t.Errorf("Available() = %q, want a hint to run make deps", err)
	}
}

func TestProcessStopKillsHelpers(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes; not run with -short")
	}
	// A shell that starts a helper in its own session (as pushpin's runner does) and ignores SIGTERM,
	// so only the SIGKILL fallback and the by-pid sweep end them.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	script := `trap '' TERM; setsid sleep 300 & echo started; wait`
	p, err := startProcess("sh", exec.Command("sh", "-c", script), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.grace = 200 * time.Millisecond
	err = p.waitReady(ctx, "helper", func(context.Context) error {
		if len(descendants(p.pid())) == 0 || !strings.Contains(p.tail.String(), "started") {
			return errors.New("helper not started yet")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	kids := descendants(p.pid())
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	for _, k := range kids {
		if k.Alive() {
			t.Errorf("helper pid %d still alive after stop", k.Pid)
		}
	}
	if p.exitedErr() == nil {
		t.Error("process not reported as exited after stop")
	}
}
