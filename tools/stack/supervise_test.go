package stack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// eventually polls cond every 50 ms until it holds or limit has passed (a
// bound against hanging, not a timing claim), and reports whether it held.
func eventually(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sendDirect sends a message to the API emulator directly, as a script
// would, and returns the status.
func sendDirect(t *testing.T, s *Stack, room, text string) int {
	t.Helper()
	resp, body := do(t, http.DefaultClient, "POST", s.APIURL()+"/room/"+room+"/messages",
		strings.NewReader(fmt.Sprintf(`{"text":%q}`, text)),
		http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {s.APIKey()}, "X-User": {"bot"}})
	if resp.StatusCode != http.StatusCreated {
		t.Logf("send %q: %d %s", text, resp.StatusCode, body)
	}
	return resp.StatusCode
}

// TestStackSupervisesChildren: the connections Pushpin's zurl opened to the
// edge for a wave of listeners are closed once idle; Pushpin killed with
// SIGKILL and DynamoDB Local with SIGTERM are each logged at once and
// restarted, and the
// chat works again (DynamoDB Local in memory gets its table back); the
// state directory records the running processes, and a clean stop leaves
// no record behind.
func TestStackSupervisesChildren(t *testing.T) {
	logs := &testkit.LockedBuffer{}
	cfg := testConfig(t, logs)
	cfg.IdleTimeout = 300 * time.Millisecond
	cfg.StateDir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = s.Stop()
		}
		if t.Failed() {
			t.Logf("stack logs:\n%s", logs)
		}
	}()
	room := defaultRoom(t, s)
	events := s.URL() + "/room/" + room + "/events"

	recorded, err := os.ReadFile(filepath.Join(cfg.StateDir, ChildrenFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{s.Pid(partPushpin), s.Pid(partDynamo)} {
		if !strings.Contains(string(recorded), strconv.Itoa(pid)+" ") {
			t.Errorf("%s does not record pid %d:\n%s", ChildrenFile, pid, recorded)
		}
	}

	// A wave of listeners, then none: the edge's connections from zurl go.
	lctx, lcancel := context.WithCancel(ctx)
	for range 20 {
		listen(lctx, t, events)
	}
	if n := s.OpenConnections()["edge stand-in"]; n == 0 {
		t.Errorf("no open connection to the edge with 20 listeners")
	}
	lcancel()
	if !eventually(time.Minute, func() bool { return s.OpenConnections()["edge stand-in"] == 0 }) {
		t.Errorf("connections to the edge still open after the listeners left and IdleTimeout passed: %v", s.OpenConnections())
	}

	for _, part := range []string{partPushpin, partDynamo} {
		old := s.Pid(part)
		// DynamoDB Local loses what it wrote since it started when
		// killed with SIGKILL (its data file is written on exit), and
		// ids going back are a wiped room, another test's subject: it
		// gets SIGTERM, an exit the stack did not ask for all the same.
		sig := syscall.SIGKILL
		if part == partDynamo {
			sig = syscall.SIGTERM
		}
		if err := syscall.Kill(old, sig); err != nil {
			t.Fatal(err)
		}
		exited := fmt.Sprintf(`"msg":"child exited unexpectedly","part":%q`, part)
		restarted := fmt.Sprintf(`"msg":"child restarted","part":%q`, part)
		if !eventually(2*time.Minute, func() bool { return strings.Contains(logs.String(), restarted) }) {
			t.Fatalf("%s killed (pid %d) was not restarted", part, old)
		}
		if !strings.Contains(logs.String(), exited) {
			t.Errorf("the death of %s was not logged", part)
		}
		if s.Pid(part) == old {
			t.Errorf("%s has the same pid %d after its restart", part, old)
		}
		frames := listen(ctx, t, events)
		text := "after " + part + " died"
		if code := sendDirect(t, s, room, text); code != http.StatusCreated {
			t.Fatalf("send after %s restarted: %d", part, code)
		}
		waitFrame(t, frames, text)
	}
	select {
	case <-s.Failed():
		t.Errorf("stack failed: %v", s.Err())
	default:
	}
	recorded, err = os.ReadFile(filepath.Join(cfg.StateDir, ChildrenFile))
	if err != nil || !strings.Contains(string(recorded), strconv.Itoa(s.Pid(partPushpin))+" ") {
		t.Errorf("%s does not record the restarted Pushpin %d: %q %v", ChildrenFile, s.Pid(partPushpin), recorded, err)
	}

	cancel()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if _, err := os.Stat(filepath.Join(cfg.StateDir, ChildrenFile)); !os.IsNotExist(err) {
		t.Errorf("%s left after a clean stop (stat: %v)", ChildrenFile, err)
	}
}

// TestSupervisorGivesUp: a child that dies more than maxCrashes times in a
// row fails the stack with a message naming it, and is not restarted again.
func TestSupervisorGivesUp(t *testing.T) {
	t.Parallel()
	sv := newSupervisor(slog.New(slog.NewTextHandler(io.Discard, nil)))
	sv.sleep = func(time.Duration) {}
	c := &fakeChild{}
	sv.add("fake", c, nil)
	for i := range maxCrashes + 1 {
		sv.restart("fake", fmt.Errorf("crash %d", i))
	}
	select {
	case <-sv.failed:
	default:
		t.Fatal("the supervisor did not give up")
	}
	if c.restarts != maxCrashes {
		t.Errorf("restarted %d times, want %d", c.restarts, maxCrashes)
	}
	if !strings.Contains(sv.failErr.Error(), "fake died") {
		t.Errorf("failure %q does not name the child", sv.failErr)
	}
	sv.stop()
	sv.restart("fake", fmt.Errorf("after stop"))
	if c.restarts != maxCrashes {
		t.Errorf("restarted after stop")
	}
}

// fakeChild counts restarts.
type fakeChild struct{ restarts int }

func (f *fakeChild) Restart(context.Context) error { f.restarts++; return nil }
func (f *fakeChild) Pid() int                      { return 1 }
func (f *fakeChild) Processes() []proc.ProcessID   { return nil }

// TestKillLeftovers: processes recorded by a stack that died are killed by
// the next one on the state directory; a record whose start time does not
// match (the pid now belongs to someone else) is left alone.
func TestKillLeftovers(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes; not run with -short")
	}
	dir := t.TempDir()
	left := exec.Command("sleep", "300")
	left.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	other := exec.Command("sleep", "300")
	for _, c := range []*exec.Cmd{left, other} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = c.Wait() }()
		t.Cleanup(func() { _ = c.Process.Kill() })
	}
	leftID, _ := proc.Identify(left.Process.Pid)
	otherID, _ := proc.Identify(other.Process.Pid)
	otherID.Start += "0"
	if err := writeChildren(dir, map[string][]proc.ProcessID{"pushpin": {leftID, otherID}}); err != nil {
		t.Fatal(err)
	}
	killed, err := killLeftovers(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(killed) != 1 || killed[0].Pid != leftID.Pid {
		t.Errorf("killed %v, want only pid %d", killed, leftID.Pid)
	}
	if leftID.Alive() {
		t.Error("the leftover still runs")
	}
	if err := syscall.Kill(other.Process.Pid, 0); err != nil {
		t.Errorf("a process whose start time did not match was killed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ChildrenFile)); !os.IsNotExist(err) {
		t.Errorf("%s kept after the cleanup", ChildrenFile)
	}
}
