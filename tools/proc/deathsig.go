package proc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// setprivPath returns the path of util-linux's setpriv, or "" when it is not installed.
func setprivPath() string {
	p, err := exec.LookPath("setpriv")
	if err != nil {
		return ""
	}
	return p
}

// orphanProof returns argv prefixed so that the program it runs gets SIGKILL when its parent dies
// (`setpriv --pdeathsig KILL --`), for programs started by a child of ours rather than by us: the
// Lambda RIE's bootstrap. Without setpriv it returns argv unchanged.
func orphanProof(argv []string) []string {
	sp := setprivPath()
	if sp == "" {
		return argv
	}
	return append([]string{sp, "--pdeathsig", "KILL", "--"}, argv...)
}

// writeOrphanProofWrappers writes into dir, for each program, a shell script of the same name that
// runs the program found on PATH under `setpriv --pdeathsig KILL`: a process that starts its helpers
// by name (Pushpin's runner starts condure, zurl, pushpin-proxy and pushpin-handler, each in a
// process group of its own) then starts them so that they die with it, even when it is killed with
// SIGKILL and cannot stop them itself. It returns the wrappers' paths by program name; none when
// setpriv is missing (the helpers then run unwrapped).
func writeOrphanProofWrappers(dir string, programs ...string) (map[string]string, error) {
	sp := setprivPath()
	if sp == "" {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("proc: make wrapper dir: %w", err)
	}
	out := map[string]string{}
	for _, prog := range programs {
		real, err := exec.LookPath(prog)
		if err != nil {
			return nil, fmt.Errorf("proc: %s: %w", prog, ErrNotInstalled)
		}
		if real, err = filepath.Abs(real); err != nil {
			return nil, fmt.Errorf("proc: path of %s: %w", prog, err)
		}
		path := filepath.Join(dir, prog)
		script := "#!/bin/sh\nexec " + shellQuote(sp) + " --pdeathsig KILL -- " + shellQuote(real) + " \"$@\"\n"
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			return nil, fmt.Errorf("proc: write wrapper %s: %w", path, err)
		}
		out[prog] = path
	}
	return out, nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
