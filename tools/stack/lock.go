package stack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile is the file in Config.StateDir that a running stack holds an
// exclusive flock(2) on, and writes its pid into.
const LockFile = "stack.lock"

// ErrStateDirInUse is wrapped by the error of a Start whose StateDir another
// running stack holds: two stacks on one state directory would share
// DynamoDB Local's data files and rewrite each other's Pushpin routes (the
// first Pushpin hot-reloads them and answers 502).
var ErrStateDirInUse = errors.New("stack: state dir in use")

// StateDirInUseError is the error of a Start whose StateDir is locked by
// another stack. It wraps ErrStateDirInUse.
type StateDirInUseError struct {
	// Dir is the state directory.
	Dir string
	// Pid is the holder's process id as written in the lock file; 0 when it
	// could not be read.
	Pid int
}

// Error names the directory and the holder's pid.
func (e *StateDirInUseError) Error() string {
	pid := "pid unknown"
	if e.Pid > 0 {
		pid = "pid " + strconv.Itoa(e.Pid)
	}
	return fmt.Sprintf("stack: state dir %s is in use by another devstack (%s)", e.Dir, pid)
}

// Unwrap returns ErrStateDirInUse.
func (e *StateDirInUseError) Unwrap() error { return ErrStateDirInUse }

// stateLock is a held lock on a state directory.
type stateLock struct {
	f *os.File
}

// lockStateDir makes dir and takes an exclusive, non-blocking flock on its
// LockFile, then writes this process's pid there. The kernel releases the
// lock when the process dies, however it dies, so a stale lock file never
// blocks a new stack. The file is opened close-on-exec, so the processes the
// stack starts do not inherit (and keep) the lock.
func lockStateDir(dir string) (*stateLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("stack: make state dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("stack: open %s: %w", path, err)
	}
	if err := flock(f); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &StateDirInUseError{Dir: dir, Pid: readPid(path)}
		}
		return nil, fmt.Errorf("stack: lock %s: %w", path, err)
	}
	if err := writePid(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("stack: write pid to %s: %w", path, err)
	}
	return &stateLock{f: f}, nil
}

// flock takes an exclusive lock on f without waiting, retrying on EINTR.
func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// writePid replaces f's content with this process's pid.
func writePid(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// readPid returns the pid written in the lock file at path, or 0.
func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

// release unlocks the state directory. The lock file stays: removing it
// would let a stack lock a file that a third one then recreates beside it.
func (l *stateLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	// Unlock before closing: a process forking at this moment (another
	// test starting a server, say) holds a copy of the descriptor until it
	// execs, and with it the lock; LOCK_UN drops the lock for every copy.
	unlockErr := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	err := errors.Join(unlockErr, l.f.Close())
	l.f = nil
	if err != nil {
		return fmt.Errorf("release state dir lock: %w", err)
	}
	return nil
}
