package proc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// orphanHelperEnv makes the test binary, run as a child by TestChildrenDieWithTheirStarter, start
// Pushpin and DynamoDB Local, print what runs, and wait to be killed.
const orphanHelperEnv = "PROC_TEST_ORPHAN_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(orphanHelperEnv) != "" {
		os.Exit(orphanHelper())
	}
	os.Exit(m.Run())
}

// helperReport is what the helper prints once everything runs.
type helperReport struct {
	Processes []ProcessID
	Ports     []int
}

func orphanHelper() int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pp, err := StartPushpin(ctx, PushpinConfig{Origin: "127.0.0.1:9", SigKey: "k"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	d, err := StartDynamoDB(ctx, DynamoConfig{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rep := helperReport{
		Processes: append(pp.Processes(), d.Processes()...),
		Ports:     []int{pp.Config().HTTPPort, pp.Config().PublishPort, d.Config().Port},
	}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		return 1
	}
	time.Sleep(10 * time.Minute) // until killed
	return 1
}

// TestChildrenDieWithTheirStarter starts a process that starts Pushpin (whose runner starts
// condure, zurl, pushpin-proxy and pushpin-handler, each in a process group of its own) and
// DynamoDB Local, then kills that process with SIGKILL, which lets it clean nothing up: every one
// of those processes must die with it and free its port.
func TestChildrenDieWithTheirStarter(t *testing.T) {
	requireTools(t)
	if setprivPath() == "" {
		t.Fatal("setpriv (util-linux) is not installed: Pushpin's helpers would outlive a crash")
	}
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), orphanHelperEnv+"=1")
	stdout, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	helper.Stderr = &stderr
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	var rep helperReport
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err == nil {
		err = json.Unmarshal([]byte(line), &rep)
	}
	if err != nil {
		_ = helper.Process.Kill()
		_ = helper.Wait()
		t.Fatalf("helper: %q %v\n%s", line, err, stderr.String())
	}
	// Whatever happens below, nothing of the helper's is left running.
	t.Cleanup(func() { _, _ = KillAll(rep.Processes, 5*time.Second) })
	names := map[string]bool{}
	for _, p := range rep.Processes {
		names[p.Name] = true
	}
	for _, want := range []string{"pushpin", "condure", "zurl", "pushpin-proxy", "pushpin-handler", "java"} {
		if !names[want] {
			t.Errorf("the helper runs no %s; it runs %v", want, rep.Processes)
		}
	}

	if err := helper.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()

	// The kernel delivers the parent-death signals at once, but the processes take a moment to
	// go; poll rather than assume how long.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for anyAlive(rep.Processes) && ctx.Err() == nil {
		time.Sleep(pollInterval)
	}
	for _, p := range rep.Processes {
		if p.Alive() {
			t.Errorf("%s (pid %d) outlived the process that started it", p.Name, p.Pid)
		}
	}
	for _, port := range rep.Ports {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Errorf("port %d still taken after the kill: %v", port, err)
			continue
		}
		l.Close()
	}
}

// TestOnExitReportsACrashOnly: a Pushpin killed from outside is reported through OnExit, and
// Restart brings it back; a Stop is not reported.
func TestOnExitReportsACrashOnly(t *testing.T) {
	t.Parallel()
	requireTools(t)
	origin := newGripOrigin(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exits := make(chan error, 4)
	pp, err := StartPushpin(ctx, PushpinConfig{
		Origin: origin.hostPort(), SigKey: "k", Log: testLog(t, "pushpin"),
		OnExit: func(err error) { exits <- err },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pp.Stop() })

	// A helper dying takes the runner down with it.
	var condure ProcessID
	for _, p := range pp.Processes() {
		if p.Name == "condure" {
			condure = p
		}
	}
	if condure.Pid == 0 {
		t.Fatalf("no condure among %v", pp.Processes())
	}
	if err := syscall.Kill(condure.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exits:
		if err == nil || !strings.Contains(err.Error(), "exited") {
			t.Errorf("OnExit(%v), want an error describing the exit", err)
		}
	case <-ctx.Done():
		t.Fatal("a killed helper was never reported")
	}
	if err := pp.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	r, _ := openStream(t, pp)
	publish(t, pp, origin.channel, "data: back\n\n")
	if got, err := readUntil(r, "data: back\n"); err != nil {
		t.Fatalf("after the restart: read %q: %v", got, err)
	}

	if err := pp.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exits:
		t.Errorf("Stop reported as a crash: %v", err)
	case <-time.After(500 * time.Millisecond): // a report would come at once
	}
}

// TestKillAll kills a running process by its identity, and leaves alone an identity whose start
// time does not match (a pid reused by another process).
func TestKillAll(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes; not run with -short")
	}
	cmd := exec.Command("sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-waited })
	id, ok := Identify(cmd.Process.Pid)
	if !ok || id.Name != "sleep" {
		t.Fatalf("Identify(%d) = %+v, %v", cmd.Process.Pid, id, ok)
	}
	other := id
	other.Start += "0"
	if killed, err := KillAll([]ProcessID{other}, time.Second); err != nil || len(killed) != 0 {
		t.Fatalf("KillAll with a stale start time killed %v (%v)", killed, err)
	}
	if !id.Alive() {
		t.Fatal("a process with another start time was killed")
	}
	killed, err := KillAll([]ProcessID{id}, 10*time.Second)
	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		// The zombie is reaped by cmd.Wait; Alive treats a zombie as gone.
		t.Fatal(err)
	}
	if len(killed) != 1 {
		t.Errorf("KillAll killed %v, want the sleep", killed)
	}
}
