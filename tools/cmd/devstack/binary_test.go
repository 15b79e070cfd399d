package main

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// TestBinaryOutsideCheckout builds the command and runs it from a directory
// outside the checkout, given only an absolute -template (as a developer
// running the built binary from elsewhere would): it finds the checkout from
// the template, serves the chat, and stops on SIGTERM, sent to its pid.
func TestBinaryOutsideCheckout(t *testing.T) {
	requireTools(t)
	root, err := proc.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "devstack")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./tools/cmd/devstack")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	ports := freePorts(t)
	pushpinPort := ""
	for i, a := range ports {
		if a == "-pushpin-port" {
			pushpinPort = ports[i+1]
		}
	}
	cmd := exec.Command(bin, append(ports, "-template", filepath.Join(root, "template.yaml"))...)
	cmd.Dir = t.TempDir() // no go.mod above
	cmd.Env = append(os.Environ(), "API_KEYS=outside-key")
	var logs testkit.LockedBuffer
	cmd.Stderr = &logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	exited := false
	defer func() {
		if !exited {
			_ = syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-waited:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-waited
			}
		}
		if t.Failed() {
			t.Logf("devstack logs:\n%s", logs.String())
		}
	}()

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var out strings.Builder
	for !strings.Contains(out.String(), "Ctrl-C stops everything") {
		select {
		case l, ok := <-lines:
			if !ok {
				err := <-waited
				exited = true
				t.Fatalf("exited before serving: %v\nstdout:\n%s", err, out.String())
			}
			out.WriteString(l + "\n")
		case <-ctx.Done():
			t.Fatalf("no banner\nstdout:\n%s", out.String())
		}
	}
	if !strings.Contains(out.String(), "outside-key") {
		t.Errorf("banner does not show the API key:\n%s", out.String())
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://127.0.0.1:" + pushpinPort + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET / through Pushpin: %s", resp.Status)
	}

	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for l := range lines {
		out.WriteString(l + "\n")
	}
	select {
	case err := <-waited:
		exited = true
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("did not stop after SIGTERM")
	}
	if !strings.Contains(out.String(), "devstack: stopped") {
		t.Errorf("no stop message:\n%s", out.String())
	}
}
