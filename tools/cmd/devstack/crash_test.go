package main

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/stack"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// runningDevstack is the built command, started, serving.
type runningDevstack struct {
	cmd    *exec.Cmd
	waited chan error
	out    *testkit.LockedBuffer
	logs   *testkit.LockedBuffer
}

// startDevstack runs bin with args and returns once it printed its banner.
func startDevstack(ctx context.Context, t *testing.T, bin string, args []string) *runningDevstack {
	t.Helper()
	d := &runningDevstack{cmd: exec.Command(bin, args...), waited: make(chan error, 1), out: &testkit.LockedBuffer{}, logs: &testkit.LockedBuffer{}}
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.waited <- d.cmd.Wait() }()
	for !strings.Contains(d.out.String(), "Ctrl-C stops everything") {
		select {
		case err := <-d.waited:
			t.Fatalf("exited before serving: %v\nstdout:\n%s\nlogs:\n%s", err, d.out, d.logs)
		case <-ctx.Done():
			_ = d.cmd.Process.Kill()
			t.Fatalf("no banner\nstdout:\n%s\nlogs:\n%s", d.out, d.logs)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return d
}

// TestKillNineLeavesNothing runs the built command on a state directory,
// kills it with SIGKILL (no cleanup of its own can run), and checks that
// every process it started died with it and freed its port, and that the
// command then starts again on the same ports and state directory, as
// `make dev` after a crash must.
func TestKillNineLeavesNothing(t *testing.T) {
	requireTools(t)
	root, err := proc.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "devstack")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./tools/cmd/devstack")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	state := t.TempDir()
	args := freePorts(t)
	args[1] = state // -state
	var ports []int
	for i, a := range args {
		if strings.HasSuffix(a, "-port") {
			p, _ := strconv.Atoi(args[i+1])
			ports = append(ports, p)
		}
	}

	first := startDevstack(ctx, t, bin, args)
	children := readChildren(t, filepath.Join(state, stack.ChildrenFile))
	t.Cleanup(func() { _, _ = proc.KillAll(children, 5*time.Second) })
	names := map[string]bool{}
	for _, c := range children {
		names[c.Name] = true
	}
	for _, want := range []string{"java", "pushpin", "condure", "zurl", "pushpin-proxy", "pushpin-handler"} {
		if !names[want] {
			t.Errorf("%s does not list %s: %v", stack.ChildrenFile, want, children)
		}
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.waited
	for ctx.Err() == nil && anyAlive(children) {
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range children {
		if c.Alive() {
			t.Errorf("%s (pid %d) outlived devstack's kill -9", c.Name, c.Pid)
		}
	}
	for _, p := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Errorf("port %d still taken after devstack's kill -9: %v", p, err)
			continue
		}
		l.Close()
	}

	second := startDevstack(ctx, t, bin, args)
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-second.waited:
		if err != nil {
			t.Errorf("second run: exit after SIGTERM: %v\n%s", err, second.logs)
		}
	case <-ctx.Done():
		_ = second.cmd.Process.Kill()
		t.Fatal("second run did not stop after SIGTERM")
	}
}

// readChildren parses the stack's record of its processes.
func readChildren(t *testing.T, path string) []proc.ProcessID {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []proc.ProcessID
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 3 {
			t.Fatalf("%s: malformed line %q", path, sc.Text())
		}
		pid, err := strconv.Atoi(fs[0])
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, proc.ProcessID{Pid: pid, Start: fs[1], Name: fs[2]})
	}
	return ids
}

func anyAlive(ids []proc.ProcessID) bool {
	for _, id := range ids {
		if id.Alive() {
			return true
		}
	}
	return false
}
