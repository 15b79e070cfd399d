package proc

import (
	"context"
	"io"
	"os/exec"
	"sync"
)

// supervised is the one process a runner (Pushpin, DynamoDB, RIE) keeps running: the runner's launch
// function starts it through run and waits until it serves, and Pid, Processes, Restart and Stop act
// on whichever process runs now, under one lock held through a restart or a stop, so that the two
// never interleave. The runners embed it: its methods are theirs.
type supervised struct {
	// name names the process in errors: "pushpin", "dynamodb-local", "aws-lambda-rie".
	name string
	// log receives the process's output; nil discards it.
	log io.Writer
	// onExit, when not nil, is told of an exit that Stop or Restart did not ask for (see
	// startProcess).
	onExit func(error)
	// launch starts the process (calling run) and waits until it serves. It is called with mu held,
	// or before the runner is shared.
	launch func(ctx context.Context) error
	// stopped, when not nil, runs after Stop has stopped the process, with mu still held.
	stopped func()

	mu   sync.Mutex // guards proc; held through Restart and Stop
	proc *process
}

// run starts cmd as the supervised process and waits with ready until it serves; a process that does
// not get ready is stopped, and ready's error returned.
func (s *supervised) run(ctx context.Context, cmd *exec.Cmd, ready func(context.Context, *process) error) error {
	p, err := startProcess(s.name, cmd, s.log, s.onExit)
	if err != nil {
		return err
	}
	s.proc = p
	if err := ready(ctx, p); err != nil {
		_ = p.stop()
		return err
	}
	return nil
}

// Pid returns the process id of the process started: Pushpin's runner, DynamoDB Local's java, the
// emulator.
func (s *supervised) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc.pid()
}

// Processes returns the process and those it started (Pushpin's helpers, the function under the
// emulator) as they run now, none once it has exited: a supervisor's record of what to clean up
// after a crash.
func (s *supervised) Processes() []ProcessID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc.tree()
}

// Restart stops the process (if it still runs) and starts it again with the same configuration: the
// same ports and directories. Each runner says what survives a restart.
func (s *supervised) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.proc.stop(); err != nil {
		return err
	}
	return s.launch(ctx)
}

// Stop stops the process and those it started (SIGTERM, then SIGKILL after a grace time, by pid).
// Stopping a process that has exited is a no-op.
func (s *supervised) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.proc.stop()
	if s.stopped != nil {
		s.stopped()
	}
	return err
}
