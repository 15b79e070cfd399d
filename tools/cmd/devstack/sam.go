package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/apigw"
	"github.com/fanout-chat/serverless-chat/tools/stack"
)

// runSAMLocal is `make sam-local`, for machines with Docker and the SAM
// CLI: it writes an env-vars file pointing the functions (in containers) at
// DynamoDB Local and Pushpin on the host, starts DynamoDB Local, the edge
// stand-in and Pushpin around the API port, then runs
// `sam build && sam local start-api --env-vars ... --port <api-port>`.
func runSAMLocal(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devstack sam-local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	finish := stackFlags(fs, getenv)
	defaultDockerHost := getenv("SAM_DOCKER_HOST")
	if defaultDockerHost == "" {
		defaultDockerHost = "host.docker.internal"
	}
	dockerHost := fs.String("docker-host", defaultDockerHost, "how containers reach this machine (env SAM_DOCKER_HOST)")
	writeOnly := fs.Bool("write-env", false, "only write the env-vars file and print its path")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := finish()
	if err != nil {
		return err
	}
	root := cfg.Root
	cfg.Log = stderr
	cfg.ExternalAPI = "http://127.0.0.1:" + strconv.Itoa(cfg.APIPort)

	tmpl, err := apigw.LoadTemplate(cfg.Template, nil)
	if err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	envFile, err := writeSAMEnv(cfg, tmpl, *dockerHost)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "devstack: wrote", envFile)
	if *writeOnly {
		return nil
	}
	if _, err := exec.LookPath("sam"); err != nil {
		return fmt.Errorf("devstack: sam-local needs the SAM CLI and Docker (%w); without them use make dev", err)
	}
	build := exec.CommandContext(ctx, "sam", "build")
	build.Dir, build.Stdout, build.Stderr = root, stderr, stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("devstack: sam build: %w", err)
	}
	s, err := stack.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := s.Stop(); err != nil {
			fmt.Fprintln(stderr, "devstack:", err)
		}
	}()
	samArgs := []string{"local", "start-api", "--env-vars", envFile, "--host", "127.0.0.1", "--port", strconv.Itoa(cfg.APIPort)}
	if *dockerHost == "127.0.0.1" {
		// Linux without Docker Desktop: containers share the host's network,
		// so 127.0.0.1 reaches Pushpin's publish port, which binds nowhere else.
		samArgs = append(samArgs, "--docker-network", "host")
	} else {
		samArgs = append(samArgs, "--add-host", "host.docker.internal:host-gateway")
	}
	api := exec.Command("sam", samArgs...)
	api.Dir = root
	samLog := stack.NewLogMux(stderr).Part("sam")
	api.Stdout, api.Stderr = samLog, samLog
	if err := api.Start(); err != nil {
		return fmt.Errorf("devstack: sam local start-api: %w", err)
	}
	printBanner(stdout, s)
	waited := make(chan error, 1)
	go func() { waited <- api.Wait() }()
	select {
	case err := <-waited:
		return fmt.Errorf("devstack: sam local start-api exited: %w", err)
	case <-ctx.Done():
	}
	_ = api.Process.Signal(syscall.SIGTERM)
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		_ = api.Process.Kill()
		<-waited
	}
	return nil
}

// writeSAMEnv writes <state>/sam-env.json: each function's environment as
// the stack gives it (stack.Environments), with the addresses of this
// machine replaced by dockerHost, since the functions run in containers.
func writeSAMEnv(cfg stack.Config, tmpl *apigw.Template, dockerHost string) (string, error) {
	envs, err := stack.Environments(cfg, tmpl,
		fmt.Sprintf("http://%s:%d", dockerHost, cfg.DynamoPort), fmt.Sprintf("http://%s:%d", dockerHost, cfg.PublishPort), nil)
	if err != nil {
		return "", err
	}
	for _, env := range envs {
		for k, v := range env {
			env[k] = strings.ReplaceAll(v, "127.0.0.1", dockerHost)
		}
	}
	b, err := json.MarshalIndent(envs, "", "  ")
	if err != nil {
		return "", fmt.Errorf("devstack: encode env vars: %w", err)
	}
	dir := cfg.StateDir
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("devstack: make %s: %w", dir, err)
	}
	path := filepath.Join(dir, "sam-env.json")
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("devstack: write %s: %w", path, err)
	}
	return path, nil
}
