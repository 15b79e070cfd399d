package proc

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

func TestRIEInvokesFunction(t *testing.T) {
	t.Parallel()
	requireTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bootstrap, err := BuildBootstrap(ctx, "./tools/proc/testdata/echo", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rie, err := StartRIE(ctx, RIEConfig{Bootstrap: bootstrap, Env: []string{"ECHO_GREETING=hello"}, Log: testLog(t, "rie")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rie.Stop(); err != nil {
			t.Error(err)
		}
	})

	tests := []struct {
		name    string
		payload string
		want    map[string]string
	}{
		{name: "echo with env", payload: `{"message":"ping"}`, want: map[string]string{"echo": "ping", "greeting": "hello"}},
		{name: "second invoke reuses the runtime", payload: `{"message":"pong"}`, want: map[string]string{"echo": "pong", "greeting": "hello"}},
		{name: "function error", payload: `{"fail":true}`, want: map[string]string{"errorMessage": "echo: asked to fail"}},
	}
	for _, tt := range tests {
		// Not parallel: the emulator runs one invoke at a time.
		t.Run(tt.name, func(t *testing.T) {
			out, err := rie.Invoke(ctx, []byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]any{}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("response %s: %v", out, err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("response %s: %s = %v, want %q", out, k, got[k], v)
				}
			}
		})
	}

	function := descendants(rie.Pid())
	if len(function) == 0 {
		t.Fatal("no function process below the RIE after invokes")
	}
	if err := rie.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, p := range function {
		if p.Alive() {
			t.Errorf("function process %d alive after Stop", p.Pid)
		}
	}
}
