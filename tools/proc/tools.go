package proc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ErrNotInstalled is wrapped by every error about a missing tool.
var ErrNotInstalled = errors.New("proc: not installed (run make deps)")

// RepoRoot returns the directory holding go.mod, found by walking up from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("proc: get working directory: %w", err)
	}
	root, err := FindRoot(dir)
	if err != nil {
		return "", errors.New("proc: no go.mod above the working directory")
	}
	return root, nil
}

// FindRoot returns the directory holding go.mod, found by walking up from dir (made absolute
// first). Commands run from outside the checkout find it from a file they were given, such as
// the SAM template.
func FindRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("proc: absolute path of %s: %w", dir, err)
	}
	for d := abs; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("proc: no go.mod in %s or above", abs)
		}
		d = parent
	}
}

// rootOr returns root, or RepoRoot when root is "".
func rootOr(root string) (string, error) {
	if root != "" {
		return root, nil
	}
	return RepoRoot()
}

// CacheDir returns the repository's .cache directory, where scripts/deps.sh installs tools.
func CacheDir() (string, error) {
	return cacheDirIn("")
}

// cacheDirIn returns root's .cache directory; "" is RepoRoot's.
func cacheDirIn(root string) (string, error) {
	root, err := rootOr(root)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache"), nil
}

// lookPath finds a command on PATH, with an error telling how to install it.
func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("proc: find %s on PATH: %w", name, ErrNotInstalled)
	}
	return p, nil
}

// PushpinPath returns the pushpin runner; its helpers condure and zurl must be on PATH too.
func PushpinPath() (string, error) {
	for _, helper := range []string{"condure", "zurl", "pushpin-proxy", "pushpin-handler"} {
		if _, err := lookPath(helper); err != nil {
			return "", err
		}
	}
	return lookPath("pushpin")
}

// JavaPath returns the java launcher DynamoDB Local runs on.
func JavaPath() (string, error) {
	return lookPath("java")
}

// ChromiumPath returns the Chromium browser end-to-end tests drive.
func ChromiumPath() (string, error) {
	return lookPath("chromium")
}

// DynamoDBLocalDir returns the directory holding DynamoDBLocal.jar and DynamoDBLocal_lib.
func DynamoDBLocalDir() (string, error) {
	return dynamoDBLocalDirIn("")
}

// dynamoDBLocalDirIn is DynamoDBLocalDir in the checkout at root ("" is RepoRoot's).
func dynamoDBLocalDirIn(root string) (string, error) {
	cache, err := cacheDirIn(root)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "dynamodb-local")
	if _, err := os.Stat(filepath.Join(dir, "DynamoDBLocal.jar")); err != nil {
		return "", fmt.Errorf("proc: find DynamoDBLocal.jar in %s: %w", dir, ErrNotInstalled)
	}
	return dir, nil
}

// RIEPath returns the aws-lambda-rie binary.
func RIEPath() (string, error) {
	return riePathIn("")
}

// riePathIn is RIEPath in the checkout at root ("" is RepoRoot's).
func riePathIn(root string) (string, error) {
	cache, err := cacheDirIn(root)
	if err != nil {
		return "", err
	}
	p := filepath.Join(cache, "bin", "aws-lambda-rie")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("proc: find %s: %w", p, ErrNotInstalled)
	}
	return p, nil
}

// Available reports the first tool this package needs that is not installed, or nil when Pushpin,
// Java, DynamoDB Local, the RIE and Chromium are all there. Integration tests fail on its error
// (they skip only under -short).
func Available() error {
	checks := []func() (string, error){PushpinPath, JavaPath, DynamoDBLocalDir, RIEPath, ChromiumPath}
	for _, check := range checks {
		if _, err := check(); err != nil {
			return err
		}
	}
	return nil
}
