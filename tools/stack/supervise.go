package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/proc"
)

// Restart policy of the supervisor: a child that dies is restarted after
// restartPause (doubling with each crash in a row, up to restartPauseMax);
// more than maxCrashes crashes within crashWindow stop the stack instead.
const (
	restartPause    = 250 * time.Millisecond
	restartPauseMax = 5 * time.Second
	maxCrashes      = 5
	crashWindow     = time.Minute
	restartTimeout  = 2 * time.Minute
	// restartBindAttempts bounds the restarts of one death that found the
	// child's port still taken.
	restartBindAttempts = 8
)

// ChildrenFile is the file in Config.StateDir where a running stack keeps
// the pid and start time of every process it started (Pushpin's helpers
// included), so that the next stack on the directory can kill what a crash
// of this one left behind.
const ChildrenFile = "children"

// restarter is a child process the supervisor can restart.
type restarter interface {
	Restart(ctx context.Context) error
	Pid() int
	Processes() []proc.ProcessID
}

// supervisor restarts the stack's child processes when they die and stops
// the stack when one keeps dying.
type supervisor struct {
	log *slog.Logger

	cmu      sync.RWMutex
	children map[string]restarter // part name → the process
	after    map[string]func(context.Context) error
	// record, when not nil, writes the children's process ids to the state
	// directory after each (re)start.
	record func()

	// sleep waits before a restart (tests replace it).
	sleep func(time.Duration)

	mu       sync.Mutex // held through a restart, and by stop
	stopping bool
	crashes  map[string][]time.Time

	failOnce sync.Once
	failed   chan struct{}
	failErr  error
	wg       sync.WaitGroup
}

func newSupervisor(log *slog.Logger) *supervisor {
	return &supervisor{
		log:      log,
		children: map[string]restarter{},
		after:    map[string]func(context.Context) error{},
		crashes:  map[string][]time.Time{},
		failed:   make(chan struct{}),
		sleep:    time.Sleep,
	}
}

// add registers the part called name; after, when not nil, runs after each
// restart of it (DynamoDB Local in memory comes back empty: the table is
// made again).
func (sv *supervisor) add(name string, c restarter, after func(context.Context) error) {
	sv.cmu.Lock()
	defer sv.cmu.Unlock()
	sv.children[name] = c
	if after != nil {
		sv.after[name] = after
	}
}

// child returns the part called name, or nil.
func (sv *supervisor) child(name string) restarter {
	sv.cmu.RLock()
	defer sv.cmu.RUnlock()
	return sv.children[name]
}

// names returns the parts' names.
func (sv *supervisor) names() []string {
	sv.cmu.RLock()
	defer sv.cmu.RUnlock()
	out := make([]string, 0, len(sv.children))
	for n := range sv.children {
		out = append(out, n)
	}
	return out
}

// onExit returns the OnExit hook of the part called name.
func (sv *supervisor) onExit(name string) func(error) {
	return func(err error) {
		// Logged at once, before anything else, whatever happens next.
		sv.log.Error("child exited unexpectedly", "part", name, "err", firstLine(err))
		sv.wg.Add(1)
		go func() {
			defer sv.wg.Done()
			sv.restart(name, err)
		}()
	}
}

// restart restarts the part called name after a pause that grows with its
// recent crashes, or fails the stack when it crashed too often.
func (sv *supervisor) restart(name string, cause error) {
	sv.mu.Lock()
	if sv.stopping {
		sv.mu.Unlock()
		return
	}
	now := time.Now()
	recent := sv.crashes[name][:0]
	for _, at := range sv.crashes[name] {
		if now.Sub(at) < crashWindow {
			recent = append(recent, at)
		}
	}
	recent = append(recent, now)
	sv.crashes[name] = recent
	sv.mu.Unlock()
	if len(recent) > maxCrashes {
		sv.fail(fmt.Errorf("stack: %s died %d times within %s; stopping (last exit: %w)", name, len(recent), crashWindow, cause))
		return
	}
	pause := restartPause << (len(recent) - 1)
	if pause > restartPauseMax {
		pause = restartPauseMax
	}
	sv.sleep(pause)

	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.stopping {
		return
	}
	child := sv.child(name)
	if child == nil {
		sv.fail(fmt.Errorf("stack: %s died while the stack was starting: %w", name, cause))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), restartTimeout)
	defer cancel()
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := child.Restart(ctx)
		if err == nil {
			break
		}
		// The dead child's helpers (Pushpin's condure) may hold its port for
		// a moment after it died, longer on a loaded machine: a restart that
		// finds its port taken is tried again after a pause, within
		// restartTimeout.
		if !portCollision(err) || attempt == restartBindAttempts || ctx.Err() != nil {
			sv.fail(fmt.Errorf("stack: restart %s after it died: %w", name, err))
			return
		}
		sv.log.Warn("restart found its port still taken; trying again", "part", name, "attempt", attempt)
		sv.sleep(min(restartPause<<attempt, restartPauseMax))
	}
	sv.cmu.RLock()
	after := sv.after[name]
	sv.cmu.RUnlock()
	if after != nil {
		if err := after(ctx); err != nil {
			sv.fail(fmt.Errorf("stack: set up %s after its restart: %w", name, err))
			return
		}
	}
	sv.log.Info("child restarted", "part", name, "pid", child.Pid(), "down", time.Since(now).Round(time.Millisecond),
		"restart", time.Since(start).Round(time.Millisecond), "crashes", len(recent))
	if sv.record != nil {
		sv.record()
	}
}

// fail ends supervision with err: Failed is closed and Err returns it.
func (sv *supervisor) fail(err error) {
	sv.failOnce.Do(func() {
		sv.log.Error("stack failed", "err", firstLine(err))
		sv.failErr = err
		close(sv.failed)
	})
}

// stop ends supervision: no restart begins after it returns, and a restart
// under way has finished.
func (sv *supervisor) stop() {
	sv.mu.Lock()
	sv.stopping = true
	sv.mu.Unlock()
}

// Failed is closed when a child of the stack kept dying (or could not be
// restarted) and the stack gave up on it; Err then says why. The stack
// still has to be stopped with Stop.
func (s *Stack) Failed() <-chan struct{} { return s.super.failed }

// Err returns why the stack failed once Failed is closed, else nil.
func (s *Stack) Err() error {
	select {
	case <-s.super.failed:
		return s.super.failErr
	default:
		return nil
	}
}

// Processes returns every process the stack runs now, by part name
// ("pushpin", "dynamodb", "rie:<function>"): Pushpin's helpers are listed
// under "pushpin" after the runner.
func (s *Stack) Processes() map[string][]proc.ProcessID {
	out := map[string][]proc.ProcessID{}
	for _, name := range s.super.names() {
		out[name] = s.super.child(name).Processes()
	}
	return out
}

// Pid returns the pid of the part called name ("pushpin", "dynamodb",
// "rie:<function>"), or 0 if the stack has no such part.
func (s *Stack) Pid(name string) int {
	c := s.super.child(name)
	if c == nil {
		return 0
	}
	return c.Pid()
}

// firstLine returns the first line of err's message: exit errors carry the
// process's last output after it.
func firstLine(err error) string {
	if err == nil {
		return ""
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// writeChildren records every process of the stack in dir's ChildrenFile,
// one "pid start name" line each, replacing the file atomically.
func writeChildren(dir string, children map[string][]proc.ProcessID) error {
	var b strings.Builder
	for _, ids := range children {
		for _, id := range ids {
			fmt.Fprintf(&b, "%d %s %s\n", id.Pid, id.Start, id.Name)
		}
	}
	tmp := filepath.Join(dir, ChildrenFile+".tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("stack: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, ChildrenFile)); err != nil {
		return fmt.Errorf("stack: record children: %w", err)
	}
	return nil
}

// killLeftovers kills the processes recorded in dir's ChildrenFile that
// still run (same pid and start time): what a stack that died without
// stopping them left behind, holding its ports. The caller holds dir's
// lock, so no running stack owns them. It returns the processes killed.
func killLeftovers(dir string) ([]proc.ProcessID, error) {
	b, err := os.ReadFile(filepath.Join(dir, ChildrenFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stack: read %s: %w", ChildrenFile, err)
	}
	var ids []proc.ProcessID
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		pid, err := strconv.Atoi(f[0])
		if err != nil || pid <= 1 || pid == os.Getpid() {
			continue
		}
		id := proc.ProcessID{Pid: pid, Start: f[1]}
		if len(f) > 2 {
			id.Name = f[2]
		}
		ids = append(ids, id)
	}
	killed, err := proc.KillAll(ids, 10*time.Second)
	if err != nil {
		return killed, fmt.Errorf("stack: kill what a crashed stack left in %s: %w", dir, err)
	}
	if err := os.Remove(filepath.Join(dir, ChildrenFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return killed, fmt.Errorf("stack: remove %s: %w", ChildrenFile, err)
	}
	return killed, nil
}
