package proc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// BuildBootstrap builds the Lambda function in pkg (a package path relative to the repository root,
// like "./functions/send") into outDir/bootstrap, the way the deployment build does but for this
// machine's architecture so the RIE can run it here: GOOS=linux, CGO_ENABLED=0, -tags lambda.norpc,
// -trimpath. It returns the binary's absolute path.
func BuildBootstrap(ctx context.Context, pkg, outDir string) (string, error) {
	return BuildBootstrapIn(ctx, "", pkg, outDir)
}

// BuildBootstrapIn is BuildBootstrap in the checkout at root, for commands run from outside it;
// "" is RepoRoot's.
func BuildBootstrapIn(ctx context.Context, root, pkg, outDir string) (string, error) {
	root, err := rootOr(root)
	if err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("proc: find go on PATH: %w", err)
	}
	out, err := filepath.Abs(filepath.Join(outDir, "bootstrap"))
	if err != nil {
		return "", fmt.Errorf("proc: bootstrap path in %s: %w", outDir, err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", fmt.Errorf("proc: make %s: %w", outDir, err)
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("proc: build %s: %w\n%s", pkg, err, msg)
	}
	return out, nil
}
