package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// tailSize is how much of a process's latest output is kept for error messages.
	tailSize = 16 << 10
	// pollInterval is how often readiness checks retry.
	pollInterval = 25 * time.Millisecond
	// stopGrace is how long a process gets to exit after SIGTERM before SIGKILL.
	stopGrace = 5 * time.Second
)

// process is one started command, in its own process group, its output copied to a log writer and to
// a bounded tail kept for error messages.
type process struct {
	name    string
	cmd     *exec.Cmd
	tail    *tailBuffer
	grace   time.Duration // time between SIGTERM and SIGKILL in stop
	done    chan struct{} // closed once cmd.Wait has returned
	waitErr error         // cmd.Wait's result, read only after done is closed
	// stopping is set by stop before it signals: an exit after it is asked for, not a crash.
	stopping atomic.Bool
}

// startProcess starts cmd. Its stdout and stderr go to log (nil discards) and to the tail. onExit, when
// not nil, is called (from another goroutine) once the process has exited unless stop was called
// first: a crash or a kill from outside. Its argument describes the exit and the last output.
//
// The process gets SIGKILL when this one dies, however it dies (PR_SET_PDEATHSIG). Linux sends that
// signal when the thread that forked the child exits, not the process, and the Go runtime may end an
// idle thread; so the child is started from a goroutine locked to its OS thread, and that goroutine
// stays on it (waiting for the child) for as long as the child lives.
func startProcess(name string, cmd *exec.Cmd, log io.Writer, onExit func(error)) (*process, error) {
	tail := &tailBuffer{max: tailSize}
	var out io.Writer = tail
	if log != nil {
		out = io.MultiWriter(log, tail)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Helpers that inherit the output pipe may outlive the main process for a moment; don't let Wait
	// block on them.
	cmd.WaitDelay = 2 * time.Second
	p := &process{name: name, cmd: cmd, tail: tail, grace: stopGrace, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine, after the child.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = cmd.Wait()
		close(p.done)
		if onExit != nil && !p.stopping.Load() {
			onExit(p.exitedErr())
		}
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("proc: start %s: %w", name, err)
	}
	return p, nil
}

// exited is closed once the process has exited.
func (p *process) exited() <-chan struct{} { return p.done }

// pid returns the process id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// exitedErr returns an error describing the exit if the process has exited, else nil.
func (p *process) exitedErr() error {
	select {
	case <-p.done:
		return fmt.Errorf("proc: %s exited early (%v); last output:\n%s", p.name, p.waitErr, p.tail.String())
	default:
		return nil
	}
}

// stop sends SIGTERM to the process, then SIGKILL after its grace time, waits for it, and kills by pid any
// helper process it started that outlived it. Stopping an exited process is a no-op.
func (p *process) stop() error {
	p.stopping.Store(true)
	select {
	case <-p.done:
		return nil
	default:
	}
	kids := descendants(p.pid())
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("proc: signal %s (pid %d): %w", p.name, p.pid(), err)
	}
	select {
	case <-p.done:
	case <-time.After(p.grace):
		_ = p.cmd.Process.Kill()
		killAll(kids)
		<-p.done
	}
	// Helpers that outlived the main process (it may not wait for them) are killed too, and stop
	// returns only once they are gone, so their ports and sockets are free for a restart.
	killAll(kids)
	deadline := time.Now().Add(p.grace)
	for anyAlive(kids) {
		if time.Now().After(deadline) {
			return fmt.Errorf("proc: helpers of %s (pid %d) still alive after SIGKILL", p.name, p.pid())
		}
		time.Sleep(pollInterval)
	}
	return nil
}

// killAll sends SIGKILL to each process in ids that is still alive.
func killAll(ids []ProcessID) {
	for _, id := range ids {
		if id.Alive() {
			_ = syscall.Kill(id.Pid, syscall.SIGKILL)
		}
	}
}

// anyAlive reports whether a process in ids is still alive.
func anyAlive(ids []ProcessID) bool {
	for _, id := range ids {
		if id.Alive() {
			return true
		}
	}
	return false
}

// waitReady polls check until it succeeds, the process exits or ctx ends.
func (p *process) waitReady(ctx context.Context, what string, check func(context.Context) error) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		if exitErr := p.exitedErr(); exitErr != nil {
			return exitErr
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("proc: wait for %s %s: %w (last check: %v); last output:\n%s",
				p.name, what, ctx.Err(), err, p.tail.String())
		case <-t.C:
		}
	}
}

// dialCheck returns a readiness check that succeeds once addr accepts TCP connections.
func dialCheck(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ports, err := FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// FreePorts returns n distinct TCP ports on 127.0.0.1 that were free a
// moment ago. It holds every listener until all n are chosen: ports picked
// one at a time, each released before the next, can come back twice, and
// two servers of one stack then share a port (a publish meant for Pushpin's
// control port reaching its proxy port).
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	held := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range held {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("proc: find free port: %w", err)
		}
		held = append(held, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// portOrFree returns port, or a free port when port is 0, after checking that it is not in use:
// readiness checks dial the port, so a port already taken would pass them without our server.
func portOrFree(port int) (int, error) {
	if port == 0 {
		return FreePort()
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return 0, fmt.Errorf("proc: port %d: %w", port, err)
	}
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("proc: release port %d: %w", port, err)
	}
	return port, nil
}

// ProcessID names a process by pid and start time, so a pid reused after it exited is not mistaken
// for it.
type ProcessID struct {
	// Pid is the process id.
	Pid int
	// Start is the start time, in clock ticks after boot, from /proc/<pid>/stat.
	Start string
	// Name is the command name (/proc/<pid>/comm), for messages.
	Name string
}

// Alive reports whether the process still runs (and is the same process).
func (id ProcessID) Alive() bool {
	_, start, ok := readStat(id.Pid)
	return ok && start == id.Start
}

// Identify returns the ProcessID of a running pid; ok is false when no such process runs.
func Identify(pid int) (id ProcessID, ok bool) {
	_, start, ok := readStat(pid)
	if !ok {
		return ProcessID{}, false
	}
	return ProcessID{Pid: pid, Start: start, Name: readComm(pid)}, true
}

// KillAll sends SIGKILL to each process of ids that is still alive and waits, up to grace, until
// none is; it returns the ones it killed.
func KillAll(ids []ProcessID, grace time.Duration) ([]ProcessID, error) {
	var killed []ProcessID
	for _, id := range ids {
		if id.Alive() {
			if err := syscall.Kill(id.Pid, syscall.SIGKILL); err == nil {
				killed = append(killed, id)
			}
		}
	}
	deadline := time.Now().Add(grace)
	for anyAlive(ids) {
		if time.Now().After(deadline) {
			return killed, errors.New("proc: processes still alive after SIGKILL")
		}
		time.Sleep(pollInterval)
	}
	return killed, nil
}

// tree returns the process and its descendants, as they run now.
func (p *process) tree() []ProcessID {
	id, ok := Identify(p.pid())
	if !ok {
		return nil
	}
	return append([]ProcessID{id}, descendants(p.pid())...)
}

// readComm returns the command name of pid, or "".
func readComm(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// descendants lists the processes below pid (children, grandchildren, …), read from /proc.
func descendants(pid int) []ProcessID {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]ProcessID{}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, start, ok := readStat(child)
		if !ok {
			continue
		}
		children[ppid] = append(children[ppid], ProcessID{Pid: child, Start: start, Name: readComm(child)})
	}
	var out []ProcessID
	queue := []int{pid}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		for _, c := range children[next] {
			out = append(out, c)
			queue = append(queue, c.Pid)
		}
	}
	return out
}

// readStat returns the parent pid and start time of pid from /proc/<pid>/stat.
func readStat(pid int) (ppid int, start string, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, "", false
	}
	// The command name (field 2) is in parentheses and may hold spaces or ')'; fields after it start
	// at the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, "", false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), f[1] field 4 (ppid), f[17] field 20 (num_threads), f[19] field 22
	// (starttime). A zombie is gone, unless it is the leader of threads still exiting: a killed JVM's
	// main thread turns zombie while its other threads still hold its sockets.
	if len(f) < 20 || (f[0] == "Z" && f[17] == "1") {
		return 0, "", false
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, "", false
	}
	return ppid, f[19], true
}

// tailBuffer keeps the last max bytes written to it. It is safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

// Write appends p, dropping the oldest bytes beyond max.
func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// String returns the kept bytes.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
