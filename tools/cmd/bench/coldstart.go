package main

import (
	"github.com/fanout-chat/serverless-chat/tools/load"

	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/fanout-chat/serverless-chat/tools/apigw"
	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/stack"
)

// coldResult is the cold start of one function's real bootstrap under the
// Lambda RIE.
type coldResult struct {
	Function string
	// Cold is process start (the RIE's) → first answered invoke; FirstInvoke
	// is the part from the RIE accepting invokes to the answer, which
	// includes the bootstrap's start and init, as Lambda's Init Duration
	// plus the first request does.
	Cold, FirstInvoke load.Summary
	// Warm is the second invoke of the same process.
	Warm load.Summary
	// PeakRSSKiB is the median VmHWM of the bootstrap process after two
	// invokes; 0 when /proc did not show it.
	PeakRSSKiB int64
}

// sizeResult is one function's linux/arm64 deployment binary.
type sizeResult struct {
	Function        string
	Bytes, GzipSize int64
}

// coldEvent is the API Gateway v2 event each function is invoked with: a
// real request that reaches DynamoDB Local where the function does.
func (b *bench) coldEvent(fn string, run int) (events.APIGatewayV2HTTPRequest, int, error) {
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0",
		Headers: map[string]string{"host": "127.0.0.1", "user-agent": "bench"},
	}
	ev.RequestContext.HTTP.Method = http.MethodGet
	ev.RequestContext.HTTP.Protocol = "HTTP/1.1"
	ev.RequestContext.HTTP.SourceIP = "127.0.0.1"
	ev.RequestContext.Stage = "$default"
	ev.RequestContext.RequestID = "bench-" + fn + "-" + strconv.Itoa(run)
	want := http.StatusOK
	switch fn {
	case "SendFunction":
		ev.RequestContext.HTTP.Method = http.MethodPost
		ev.RawPath = "/room/" + readRoom + "/messages"
		ev.RouteKey = "POST /room/{room}/messages"
		ev.Headers["content-type"] = "application/json"
		ev.Headers["x-api-key"] = b.stack.APIKey()
		ev.Headers["x-user"] = "bench"
		ev.Body = `{"text":"cold start **probe**","clientId":"` + clientID("cold-"+fn, int64(run)+1) + `"}`
		want = http.StatusCreated
	case "HistoryFunction":
		ev.RawPath, ev.RawQueryString = "/room/"+readRoom+"/messages", "limit=20"
		ev.RouteKey = "GET /room/{room}/messages"
	case "StreamFunction":
		sig, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"iss": "pushpin", "exp": time.Now().Add(time.Hour).Unix(),
		}).SignedString([]byte(b.stack.Config().SigKey))
		if err != nil {
			return ev, 0, fmt.Errorf("sign Grip-Sig: %w", err)
		}
		ev.RawPath = "/room/" + readRoom + "/events"
		ev.RouteKey = "GET /room/{room}/events"
		ev.Headers["accept"] = "text/event-stream"
		ev.Headers["grip-sig"] = sig
	case "WebFunction":
		ev.RawPath = "/room/" + readRoom
		ev.RouteKey = "GET /room/{room}"
	default:
		return ev, 0, fmt.Errorf("no cold start event for %s", fn)
	}
	ev.RequestContext.HTTP.Path = ev.RawPath
	ev.RequestContext.RouteKey = ev.RouteKey
	ev.PathParameters = map[string]string{"room": readRoom}
	return ev, want, nil
}

// runColdStarts builds each function's bootstrap for this machine and
// starts it under the RIE cfg.ColdRuns times.
func (b *bench) runColdStarts(ctx context.Context) ([]coldResult, error) {
	dir, err := os.MkdirTemp("", "bench-bootstrap-")
	if err != nil {
		return nil, fmt.Errorf("bootstrap dir: %w", err)
	}
	defer os.RemoveAll(dir)
	var out []coldResult
	for _, fn := range b.stack.FunctionIDs() {
		bin, err := proc.BuildBootstrap(ctx, stack.FunctionPackage(fn), filepath.Join(dir, fn))
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", fn, err)
		}
		env := stack.EnvList(b.stack.FunctionEnv(fn))
		res := coldResult{Function: fn}
		var cold, first, warm []time.Duration
		var rss []int64
		for run := range b.cfg.ColdRuns {
			c, f, w, r, err := b.coldStart(ctx, fn, bin, env, run)
			if err != nil {
				return nil, fmt.Errorf("%s run %d: %w", fn, run+1, err)
			}
			cold, first, warm = append(cold, c), append(first, f), append(warm, w)
			if r > 0 {
				rss = append(rss, r)
			}
		}
		res.Cold, res.FirstInvoke, res.Warm = load.Summarize(cold), load.Summarize(first), load.Summarize(warm)
		if len(rss) > 0 {
			d := make([]time.Duration, len(rss))
			for i, v := range rss {
				d[i] = time.Duration(v)
			}
			res.PeakRSSKiB = int64(load.Summarize(d).Median)
		}
		out = append(out, res)
	}
	return out, nil
}

// coldStart starts the RIE on bin, invokes it twice and stops it. It
// returns start → first answer, the first invoke alone, the second invoke
// and the bootstrap's peak RSS in KiB.
func (b *bench) coldStart(ctx context.Context, fn, bin string, env []string, run int) (cold, first, warm time.Duration, rssKiB int64, err error) {
	t0 := time.Now()
	rie, err := proc.StartRIE(ctx, proc.RIEConfig{Bootstrap: bin, Env: env, Log: b.stackLog})
	if err != nil {
		return 0, 0, 0, 0, fmt.Errorf("start RIE: %w", err)
	}
	defer func() {
		if stopErr := rie.Stop(); stopErr != nil && err == nil {
			err = fmt.Errorf("stop RIE: %w", stopErr)
		}
	}()
	invoke := func(i int) (time.Duration, error) {
		ev, want, err := b.coldEvent(fn, run*2+i)
		if err != nil {
			return 0, err
		}
		payload, err := json.Marshal(ev)
		if err != nil {
			return 0, fmt.Errorf("encode event: %w", err)
		}
		s := time.Now()
		raw, err := rie.Invoke(ctx, payload)
		d := time.Since(s)
		if err != nil {
			return 0, fmt.Errorf("invoke: %w", err)
		}
		resp, err := apigw.DecodeResponse(raw)
		if err != nil {
			return 0, fmt.Errorf("invoke answer: %w", err)
		}
		if resp.StatusCode != want {
			return 0, fmt.Errorf("invoke answered %d, want %d: %s", resp.StatusCode, want, resp.Body)
		}
		return d, nil
	}
	if first, err = invoke(0); err != nil {
		return 0, 0, 0, 0, err
	}
	cold = time.Since(t0)
	if warm, err = invoke(1); err != nil {
		return 0, 0, 0, 0, err
	}
	return cold, first, warm, peakRSS(rie.Pid(), "bootstrap"), nil
}

// peakRSS returns the VmHWM in KiB of the child process of parent named
// comm, or 0 when /proc does not show one.
func peakRSS(parent int, comm string) int64 {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		name, ppid, hwm := parseStatus(status)
		if ppid == parent && name == comm && pid != parent {
			return hwm
		}
	}
	return 0
}

// parseStatus reads Name, PPid and VmHWM (KiB) from a /proc/<pid>/status.
func parseStatus(status []byte) (name string, ppid int, hwmKiB int64) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Name":
			name = v
		case "PPid":
			ppid, _ = strconv.Atoi(v)
		case "VmHWM":
			hwmKiB, _ = strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
		}
	}
	return name, ppid, hwmKiB
}

// buildSizes builds every function for linux/arm64 as the Makefile's
// build-<LogicalId> targets do and returns the sizes, raw and gzipped (about
// what the deployment zip weighs).
func buildSizes(ctx context.Context) ([]sizeResult, error) {
	root, err := proc.RepoRoot()
	if err != nil {
		return nil, fmt.Errorf("repository root: %w", err)
	}
	tmpl, err := apigw.LoadTemplate(filepath.Join(root, "template.yaml"), nil)
	if err != nil {
		return nil, fmt.Errorf("read the functions of template.yaml: %w", err)
	}
	dir, err := os.MkdirTemp("", "bench-arm64-")
	if err != nil {
		return nil, fmt.Errorf("build dir: %w", err)
	}
	defer os.RemoveAll(dir)
	var out []sizeResult
	for _, fn := range tmpl.FunctionIDs() {
		bin := filepath.Join(dir, fn, "bootstrap")
		cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bin, stack.FunctionPackage(fn))
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build %s for linux/arm64: %w\n%s", fn, err, msg)
		}
		raw, err := os.ReadFile(bin)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", bin, err)
		}
		var gz bytes.Buffer
		w, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		if _, err := w.Write(raw); err != nil {
			return nil, fmt.Errorf("gzip %s: %w", fn, err)
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("gzip %s: %w", fn, err)
		}
		out = append(out, sizeResult{Function: fn, Bytes: int64(len(raw)), GzipSize: int64(gz.Len())})
	}
	return out, nil
}
