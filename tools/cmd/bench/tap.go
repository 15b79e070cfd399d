package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// ddbUsage is what the functions asked of DynamoDB: calls by operation
// (failed ones too, under "<op> failed") and the read and write request
// units DynamoDB reported consuming.
type ddbUsage struct {
	Calls    map[string]int
	RRU, WRU float64
	// BilledWRU is the write units DynamoDB's documented rules give for the
	// items the calls wrote (see billedWRU): DynamoDB Local's own count for
	// transactions does not follow them.
	BilledWRU float64
}

// total is the number of calls.
func (u ddbUsage) total() int {
	n := 0
	for _, c := range u.Calls {
		n += c
	}
	return n
}

// minus returns u − v.
func (u ddbUsage) minus(v ddbUsage) ddbUsage {
	out := ddbUsage{Calls: map[string]int{}, RRU: u.RRU - v.RRU, WRU: u.WRU - v.WRU, BilledWRU: u.BilledWRU - v.BilledWRU}
	for op, n := range u.Calls {
		if d := n - v.Calls[op]; d != 0 {
			out.Calls[op] = d
		}
	}
	return out
}

// calls formats the calls as "Op n, Op n" in a stable order.
func (u ddbUsage) calls() string {
	ops := make([]string, 0, len(u.Calls))
	for op := range u.Calls {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	var b strings.Builder
	for i, op := range ops {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", op, u.Calls[op])
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// dynamoTap is a reverse proxy in front of DynamoDB Local that the
// functions are pointed at (DYNAMODB_ENDPOINT). It asks DynamoDB for
// ReturnConsumedCapacity=TOTAL on every call (which DynamoDB Local answers
// like DynamoDB) and counts calls and consumed units. The functions' code is
// not changed: what they send is what they send in Lambda, plus that one
// request field.
type dynamoTap struct {
	proxy *httputil.ReverseProxy

	mu    sync.Mutex
	usage ddbUsage
}

// newDynamoTap returns a tap forwarding to target ("http://host:port").
func newDynamoTap(target string) (*dynamoTap, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("dynamo tap target %q: %w", target, err)
	}
	t := &dynamoTap{usage: ddbUsage{Calls: map[string]int{}}}
	t.proxy = &httputil.ReverseProxy{
		Rewrite:        func(r *httputil.ProxyRequest) { r.SetURL(u) },
		ModifyResponse: t.record,
	}
	return t, nil
}

// ServeHTTP adds ReturnConsumedCapacity to the request and forwards it.
func (t *dynamoTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	var in map[string]json.RawMessage
	if json.Unmarshal(body, &in) == nil && in != nil {
		in["ReturnConsumedCapacity"] = json.RawMessage(`"TOTAL"`)
		if nb, err := json.Marshal(in); err == nil {
			body = nb
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", fmt.Sprint(len(body)))
	rec := &statusWriter{ResponseWriter: w}
	t.proxy.ServeHTTP(rec, r)
	var wru float64
	switch rec.status {
	case http.StatusOK:
		wru = billedWRU(r.Header.Get("X-Amz-Target"), in)
	case http.StatusBadRequest:
		wru = failedWRU(r.Header.Get("X-Amz-Target"), in)
	}
	if wru > 0 {
		t.mu.Lock()
		t.usage.BilledWRU += wru
		t.mu.Unlock()
	}
}

// failedWRU is the write units DynamoDB bills for a refused call: a
// single-item write whose condition fails still consumes the write (taken
// as one KB), as the presence refresh's conditional UpdateItem within its
// refresh gap does; other refusals are not billed here.
func failedWRU(target string, in map[string]json.RawMessage) float64 {
	_, op, _ := strings.Cut(target, ".")
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem":
		if _, ok := in["ConditionExpression"]; ok {
			return 1
		}
	}
	return 0
}

// statusWriter remembers the status of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// gsiKey is the attribute whose presence puts an item in the byUser index.
const gsiKey = "gsi1pk"

// billedWRU is the write units a successful call is billed by DynamoDB's
// documented on-demand rules: 1 WRU per KB (rounded up) per item written,
// 2 in a transaction; a Put of an item that carries the index key also
// writes the index (1 WRU per KB; index entries of an Update that removes
// them likewise). Item sizes are what the request carries (names plus
// values), which for this table's small items is what they store; a Delete
// or an Update is taken as one KB.
func billedWRU(target string, in map[string]json.RawMessage) float64 {
	_, op, _ := strings.Cut(target, ".")
	kb := func(n int) float64 { return math.Max(1, math.Ceil(float64(n)/1024)) }
	switch op {
	case "PutItem":
		var item map[string]json.RawMessage
		_ = json.Unmarshal(in["Item"], &item)
		return kb(itemSize(item)) + indexWRU(item)
	case "UpdateItem", "DeleteItem":
		return 1
	case "BatchWriteItem":
		var req map[string][]struct {
			PutRequest *struct {
				Item map[string]json.RawMessage
			}
		}
		_ = json.Unmarshal(in["RequestItems"], &req)
		total := 0.0
		for _, reqs := range req {
			for _, r := range reqs {
				if r.PutRequest != nil {
					total += kb(itemSize(r.PutRequest.Item)) + indexWRU(r.PutRequest.Item)
				} else {
					total++
				}
			}
		}
		return total
	case "TransactWriteItems":
		var items []struct {
			Put *struct {
				Item map[string]json.RawMessage
			}
			Update, Delete, ConditionCheck json.RawMessage
		}
		_ = json.Unmarshal(in["TransactItems"], &items)
		total := 0.0
		for _, it := range items {
			switch {
			case it.Put != nil:
				total += 2*kb(itemSize(it.Put.Item)) + indexWRU(it.Put.Item)
			case it.Update != nil && bytes.Contains(it.Update, []byte(gsiKey)):
				total += 2 + 1 // a tombstone leaves the index
			default:
				total += 2
			}
		}
		return total
	}
	return 0
}

// indexWRU is the index write of a Put of item.
func indexWRU(item map[string]json.RawMessage) float64 {
	if _, ok := item[gsiKey]; !ok {
		return 0
	}
	return math.Max(1, math.Ceil(float64(itemSize(item))/1024))
}

// itemSize approximates DynamoDB's item size: attribute names plus values
// (strings and binaries by length, numbers by digits, the rest a few
// bytes), from the wire form {"name":{"S":"…"}}.
func itemSize(item map[string]json.RawMessage) int {
	n := 0
	for name, raw := range item {
		n += len(name)
		var v map[string]json.RawMessage
		if json.Unmarshal(raw, &v) != nil {
			continue
		}
		for typ, val := range v {
			switch typ {
			case "S", "B":
				var str string
				_ = json.Unmarshal(val, &str)
				n += len(str)
			case "N":
				var num string
				_ = json.Unmarshal(val, &num)
				n += (len(num)+1)/2 + 1
			case "M":
				var m map[string]json.RawMessage
				_ = json.Unmarshal(val, &m)
				n += 3 + itemSize(m)
			default:
				n += len(val)
			}
		}
	}
	return n
}

// consumed is one ConsumedCapacity entry of an answer.
type consumed struct {
	CapacityUnits, ReadCapacityUnits, WriteCapacityUnits float64
}

// record counts the call of an answer and the units it reports.
func (t *dynamoTap) record(resp *http.Response) error {
	op := resp.Request.Header.Get("X-Amz-Target")
	if _, after, ok := strings.Cut(op, "."); ok {
		op = after
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("dynamo tap: read answer: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var out struct {
		ConsumedCapacity json.RawMessage
	}
	_ = json.Unmarshal(body, &out)
	var list []consumed
	if len(out.ConsumedCapacity) > 0 {
		if out.ConsumedCapacity[0] == '[' {
			_ = json.Unmarshal(out.ConsumedCapacity, &list)
		} else {
			var one consumed
			if json.Unmarshal(out.ConsumedCapacity, &one) == nil {
				list = append(list, one)
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if resp.StatusCode != http.StatusOK {
		op += " failed"
	}
	t.usage.Calls[op]++
	for _, c := range list {
		switch {
		case c.ReadCapacityUnits != 0 || c.WriteCapacityUnits != 0:
			t.usage.RRU += c.ReadCapacityUnits
			t.usage.WRU += c.WriteCapacityUnits
		case isWrite(op):
			t.usage.WRU += c.CapacityUnits
		default:
			t.usage.RRU += c.CapacityUnits
		}
	}
	return nil
}

// isWrite reports whether op consumes write units.
func isWrite(op string) bool {
	for _, w := range []string{"Put", "Update", "Delete", "Write"} {
		if strings.Contains(op, w) {
			return true
		}
	}
	return false
}

// snapshot returns the usage so far.
func (t *dynamoTap) snapshot() ddbUsage {
	t.mu.Lock()
	defer t.mu.Unlock()
	return ddbUsage{Calls: maps.Clone(t.usage.Calls), RRU: t.usage.RRU, WRU: t.usage.WRU, BilledWRU: t.usage.BilledWRU}
}

// publishTap is a reverse proxy in front of Pushpin's publish port that the
// send function publishes through (GRIP_URL): it counts publish requests
// and the items they carry.
type publishTap struct {
	proxy *httputil.ReverseProxy

	mu              sync.Mutex
	requests, items int
}

// newPublishTap returns a tap forwarding to target ("http://host:port").
func newPublishTap(target string) (*publishTap, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("publish tap target %q: %w", target, err)
	}
	t := &publishTap{}
	t.proxy = &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) }}
	return t, nil
}

// ServeHTTP counts a publish and forwards it.
func (t *publishTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	var in struct {
		Items []json.RawMessage `json:"items"`
	}
	_ = json.Unmarshal(body, &in)
	t.mu.Lock()
	t.requests++
	t.items += len(in.Items)
	t.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	t.proxy.ServeHTTP(w, r)
}

// snapshot returns the publish requests and items so far.
func (t *publishTap) snapshot() (requests, items int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.requests, t.items
}

// serveTap serves h on a free 127.0.0.1 port and returns its URL and a stop
// function.
func serveTap(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen for a tap: %w", err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}
