package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestBilledWRU(t *testing.T) {
	t.Parallel()
	small := `{"pk":{"S":"ROOM#a"},"sk":{"S":"EV#1"},"text":{"S":"hi"}}`
	indexed := `{"pk":{"S":"ROOM#a"},"sk":{"S":"EV#1"},"gsi1pk":{"S":"USER#a"},"gsi1sk":{"S":"x"}}`
	big := `{"pk":{"S":"ROOM#a"},"sk":{"S":"EV#1"},"text":{"S":"` + strings.Repeat("x", 1500) + `"}}`
	tests := []struct {
		name, target, body string
		want               float64
	}{
		{"put", "DynamoDB_20120810.PutItem", `{"Item":` + small + `}`, 1},
		{"put of 1.5 KB", "DynamoDB_20120810.PutItem", `{"Item":` + big + `}`, 2},
		{"put into the index", "DynamoDB_20120810.PutItem", `{"Item":` + indexed + `}`, 2},
		{"read", "DynamoDB_20120810.GetItem", `{"Key":{}}`, 0},
		{"send transaction", "DynamoDB_20120810.TransactWriteItems",
			`{"TransactItems":[{"Update":{"Key":{}}},{"Put":{"Item":` + indexed + `}},{"Put":{"Item":` + small + `}}]}`, 7},
		{"delete transaction", "DynamoDB_20120810.TransactWriteItems",
			`{"TransactItems":[{"Update":{"Key":{}}},{"Put":{"Item":` + small + `}},{"Update":{"UpdateExpression":"REMOVE #g","ExpressionAttributeNames":{"#g":"gsi1pk"}}},{"Delete":{"Key":{}}}]}`, 9},
		{"batch", "DynamoDB_20120810.BatchWriteItem",
			`{"RequestItems":{"t":[{"DeleteRequest":{"Key":{}}},{"PutRequest":{"Item":` + small + `}}]}}`, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var in map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.body), &in); err != nil {
				t.Fatal(err)
			}
			if got := billedWRU(tc.target, in); got != tc.want {
				t.Errorf("billedWRU = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDynamoTap checks that the tap asks for consumed capacity and adds up
// what the answers report, per operation.
func TestDynamoTap(t *testing.T) {
	t.Parallel()
	var asked string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		asked = string(body)
		switch r.Header.Get("X-Amz-Target") {
		case "DynamoDB_20120810.TransactWriteItems":
			_, _ = io.WriteString(w, `{"ConsumedCapacity":[{"TableName":"t","CapacityUnits":6,"WriteCapacityUnits":6}]}`)
		case "DynamoDB_20120810.Query":
			_, _ = io.WriteString(w, `{"Items":[],"ConsumedCapacity":{"TableName":"t","CapacityUnits":0.5}}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"TransactionCanceledException"}`)
		}
	}))
	defer upstream.Close()
	tap, err := newDynamoTap(upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(tap)
	defer front.Close()
	call := func(op, body string) {
		req, _ := http.NewRequest(http.MethodPost, front.URL, strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	call("TransactWriteItems", `{"TransactItems":[{"Update":{"Key":{}}}]}`)
	if !strings.Contains(asked, `"ReturnConsumedCapacity":"TOTAL"`) {
		t.Errorf("request %s does not ask for consumed capacity", asked)
	}
	call("Query", `{"TableName":"t"}`)
	call("Scan", `{"TableName":"t"}`)
	// A conditional write refused by its condition is billed all the same;
	// an unconditional refusal is not.
	call("UpdateItem", `{"TableName":"t","ConditionExpression":"#a < :t"}`)
	call("PutItem", `{"TableName":"t"}`)
	u := tap.snapshot()
	if u.Calls["TransactWriteItems"] != 1 || u.Calls["Query"] != 1 || u.Calls["Scan failed"] != 1 || u.Calls["UpdateItem failed"] != 1 || u.Calls["PutItem failed"] != 1 {
		t.Errorf("calls %v", u.Calls)
	}
	if u.WRU != 6 || u.RRU != 0.5 || u.BilledWRU != 3 {
		t.Errorf("WRU %v, RRU %v, billed WRU %v; want 6, 0.5, 3", u.WRU, u.RRU, u.BilledWRU)
	}
}
