package stack

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/fanout-chat/serverless-chat/tools/proc"
)

func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	c := DefaultConfig("/repo")
	got := []int{c.PushpinPort, c.PublishPort, c.APIPort, c.EdgePort, c.DynamoPort}
	want := []int{7999, 5561, 3000, 3001, 8000}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ports = %v, want %v", got, want)
			break
		}
	}
	if c.Template != "/repo/template.yaml" || c.EnvVarsFile != "/repo/dev/env.json" || c.StateDir != "/repo/.dev" {
		t.Errorf("paths = %q %q %q", c.Template, c.EnvVarsFile, c.StateDir)
	}
	if c.APIKey() != DefaultAPIKey || c.AdminKey != DefaultAdminKey || c.SigKey != DefaultSigKey || c.Bootstrap {
		t.Errorf("keys or mode: %+v", c)
	}
	if err := c.validate(); err != nil {
		t.Errorf("validate: %v", err)
	}
}

func TestConfigAPIKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, keys, want string }{
		{"one", "a", "a"},
		{"first of several", " a , b", "a"},
		{"skips empty", ",,b", "b"},
		{"none", " , ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := (Config{APIKeys: tt.keys}).APIKey(); got != tt.want {
				t.Errorf("APIKey() of %q = %q, want %q", tt.keys, got, tt.want)
			}
		})
	}
}

func TestResolvePorts(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Cleanup, not defer: the parallel subtests run after this function returns.
	t.Cleanup(func() { _ = ln.Close() })
	taken := ln.Addr().(*net.TCPAddr).Port

	t.Run("zero ports get distinct free ports", func(t *testing.T) {
		t.Parallel()
		c := Config{}
		if err := c.resolvePorts(); err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		for _, p := range c.ports() {
			if *p.port <= 0 || seen[*p.port] {
				t.Errorf("%s port %d: not a fresh free port (%v)", p.name, *p.port, seen)
			}
			seen[*p.port] = true
		}
	})
	t.Run("taken port is named", func(t *testing.T) {
		t.Parallel()
		c := Config{DynamoPort: taken}
		err := c.resolvePorts()
		if !errors.Is(err, ErrPortTaken) || !strings.Contains(err.Error(), strconv.Itoa(taken)) || !strings.Contains(err.Error(), "DynamoDB Local") {
			t.Fatalf("err = %v, want ErrPortTaken naming %d (DynamoDB Local)", err, taken)
		}
	})
	t.Run("one port given twice is refused", func(t *testing.T) {
		t.Parallel()
		c := Config{PushpinPort: 7999, PublishPort: 7999}
		err := c.resolvePorts()
		if !errors.Is(err, ErrPortTaken) || !strings.Contains(err.Error(), "7999") {
			t.Fatalf("err = %v, want ErrPortTaken naming 7999", err)
		}
	})
	t.Run("free ports avoid the given ones", func(t *testing.T) {
		t.Parallel()
		free, err := proc.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		c := Config{EdgePort: free}
		if err := c.resolvePorts(); err != nil {
			t.Fatal(err)
		}
		for _, p := range c.ports() {
			if p.name != "edge stand-in" && *p.port == free {
				t.Errorf("%s got %d, the edge stand-in's given port", p.name, free)
			}
		}
	})
	t.Run("external API frees the API port", func(t *testing.T) {
		t.Parallel()
		c := Config{APIPort: taken, ExternalAPI: "http://127.0.0.1:" + strconv.Itoa(taken)}
		if err := c.resolvePorts(); err != nil {
			t.Fatalf("the API port is sam's with ExternalAPI, got %v", err)
		}
	})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := DefaultConfig("/r")
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no template", func(c *Config) { c.Template = "" }, "Template"},
		{"no API key", func(c *Config) { c.APIKeys = " , " }, "APIKeys"},
		{"no admin key", func(c *Config) { c.AdminKey = "" }, "AdminKey"},
		{"no sig key", func(c *Config) { c.SigKey = "" }, "SigKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := ok
			tt.edit(&c)
			if err := c.validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("validate = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func TestLogMux(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	m := NewLogMux(&out)
	a, b := m.Part("a"), m.Part("b")
	_, _ = a.Write([]byte("one "))
	_, _ = b.Write([]byte("two\nthree\n"))
	_, _ = a.Write([]byte("line\npartial"))
	want := "[b] two\n[b] three\n[a] one line\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
