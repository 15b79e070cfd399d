package load

import (
	"strings"
	"syscall"
	"testing"
)

func TestRaiseNoFile(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if err := RaiseNoFile(lim.Cur); err != nil {
		t.Errorf("RaiseNoFile(soft limit %d) = %v, want nil: nothing to raise", lim.Cur, err)
	}
	if lim.Max == ^uint64(0) {
		return // an unlimited hard limit: no want lies above it
	}
	err := RaiseNoFile(lim.Max + 1)
	if err == nil || !strings.Contains(err.Error(), "lower -listeners") {
		t.Errorf("RaiseNoFile(hard limit %d + 1) = %v, want an error that says to lower -listeners", lim.Max, err)
	}
}
