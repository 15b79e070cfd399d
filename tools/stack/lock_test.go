package stack

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// lockHelperEnv makes the test binary a helper process that locks the state
// directory named in the variable and waits for its standard input to close.
const lockHelperEnv = "DEVSTACK_TEST_LOCK_HELPER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(lockHelperEnv); dir != "" {
		os.Exit(lockHelper(dir))
	}
	os.Exit(m.Run())
}

func lockHelper(dir string) int {
	l, err := lockStateDir(dir)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	os.Stdout.WriteString("locked\n")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_ = l.release()
	return 0
}

func TestLockStateDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := lockStateDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lockStateDir(dir)
	var inUse *StateDirInUseError
	if !errors.Is(err, ErrStateDirInUse) || !errors.As(err, &inUse) {
		t.Fatalf("second lock: %v, want a *StateDirInUseError", err)
	}
	want := "stack: state dir " + dir + " is in use by another devstack (pid " + strconv.Itoa(os.Getpid()) + ")"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if err := first.release(); err != nil {
		t.Fatal(err)
	}
	again, err := lockStateDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	if err := again.release(); err != nil {
		t.Fatal(err)
	}
}

// TestLockReleasedWhenHolderDies: a stack killed without Stop leaves its
// lock file, but the kernel drops the lock with the process, so the next
// start succeeds; while it lives, the error names its pid.
func TestLockReleasedWhenHolderDies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), lockHelperEnv+"="+dir)
	stdin, err := helper.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	helper.Stderr = &stderr
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = helper.Process.Kill()
			_ = helper.Wait()
		}
	}()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "locked\n" {
		t.Fatalf("helper: %q %v %s", line, err, stderr.String())
	}

	_, err = lockStateDir(dir)
	var inUse *StateDirInUseError
	if !errors.As(err, &inUse) || inUse.Pid != helper.Process.Pid || !strings.Contains(err.Error(), "(pid "+strconv.Itoa(helper.Process.Pid)+")") {
		t.Fatalf("lock held by pid %d: %v", helper.Process.Pid, err)
	}

	if err := helper.Process.Kill(); err != nil { // SIGKILL: no release, no cleanup
		t.Fatal(err)
	}
	_ = helper.Wait()
	killed = true
	if _, err := os.Stat(filepath.Join(dir, LockFile)); err != nil {
		t.Fatalf("lock file gone after the kill: %v", err)
	}
	l, err := lockStateDir(dir)
	if err != nil {
		t.Fatalf("lock after the holder died: %v", err)
	}
	if got := readPid(filepath.Join(dir, LockFile)); got != os.Getpid() {
		t.Errorf("lock file holds pid %d, want ours %d", got, os.Getpid())
	}
	if err := l.release(); err != nil {
		t.Fatal(err)
	}
}

// TestStackStateDirInUse starts a stack on a state directory, then a second
// one on other ports with the same directory: the second fails at once,
// naming the directory and the first's pid, and the first keeps serving
// (its Pushpin routes untouched). After Stop the directory is free.
func TestStackStateDirInUse(t *testing.T) {
	logs := &testkit.LockedBuffer{}
	cfg := testConfig(t, logs)
	// Short: Pushpin's unix sockets live under the state directory.
	dir, err := os.MkdirTemp("", "ds-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg.StateDir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	first, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = first.Stop()
		}
		if t.Failed() {
			t.Logf("stack logs:\n%s", logs)
		}
	}()
	routesPath := filepath.Join(dir, "pushpin", "routes")
	routes, err := os.ReadFile(routesPath)
	if err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	second, err := Start(ctx, cfg) // cfg's ports are 0: other free ports
	if err == nil {
		_ = second.Stop()
		t.Fatal("a second stack started on the same state dir")
	}
	want := "stack: state dir " + dir + " is in use by another devstack (pid " + strconv.Itoa(os.Getpid()) + ")"
	if !errors.Is(err, ErrStateDirInUse) || err.Error() != want {
		t.Fatalf("second start: %v, want %q", err, want)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("second start took %s to fail, want at once", d)
	}
	if now, err := os.ReadFile(routesPath); err != nil || string(now) != string(routes) {
		t.Errorf("Pushpin routes changed by the second start: %q, %v; was %q", now, err, routes)
	}
	resp, body := do(t, &http.Client{Timeout: 10 * time.Second}, "GET", first.URL()+"/", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Your name") {
		t.Errorf("first stack after the second start: %d %.200q", resp.StatusCode, body)
	}

	if err := first.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	stopped = true
	l, err := lockStateDir(dir)
	if err != nil {
		t.Fatalf("state dir still locked after Stop: %v", err)
	}
	if err := l.release(); err != nil {
		t.Fatal(err)
	}
}
