package apigw

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// Function is a Lambda function as an HTTP API integration sees it: one
// payload 2.0 event in, one response out.
type Function func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// InProcess adapts h exactly as a function's main does with
// lambda.Start(httpadapter.NewV2(h).ProxyWithContext).
func InProcess(h http.Handler) Function {
	return httpadapter.NewV2(h).ProxyWithContext
}

// ErrFunction is wrapped by the error of an invocation that the function
// itself failed (an error return, a crash or a timeout), as opposed to a
// failure to reach it.
var ErrFunction = errors.New("apigw: function error")

// Remote invokes a function over the Lambda Invoke API, such as the one the
// Lambda Runtime Interface Emulator serves at
// http://host:port/2015-03-31/functions/function/invocations. Invocations
// are serialized: one emulator runs one function instance, which handles one
// event at a time, as a Lambda instance does.
func Remote(invokeURL string, client *http.Client) Function {
	if client == nil {
		client = http.DefaultClient
	}
	var mu sync.Mutex
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		payload, err := MarshalEvent(req)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		mu.Lock()
		defer mu.Unlock()
		hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, invokeURL, bytes.NewReader(payload))
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("apigw: invoke %s: %w", invokeURL, err)
		}
		hreq.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(hreq)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("apigw: invoke %s: %w", invokeURL, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("apigw: read invoke response %s: %w", invokeURL, err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Function-Error") != "" {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("invoke %s: status %d: %s: %w", invokeURL, resp.StatusCode, truncate(body), ErrFunction)
		}
		return DecodeResponse(body)
	}
}

// DecodeResponse decodes a function's result the way an HTTP API with
// payload format 2.0 does: an object with "statusCode" is a response; any
// other valid JSON is a 200 application/json body. A Lambda error payload
// ({"errorMessage", "errorType"} without statusCode) is an ErrFunction.
func DecodeResponse(body []byte) (events.APIGatewayV2HTTPResponse, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err == nil {
		if _, ok := probe["statusCode"]; ok {
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(body, &resp); err != nil {
				return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("apigw: decode function response: %w", err)
			}
			return resp, nil
		}
		_, hasType := probe["errorType"]
		_, hasMsg := probe["errorMessage"]
		if hasType && hasMsg {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("function returned %s: %w", truncate(body), ErrFunction)
		}
	}
	if !json.Valid(body) {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("function returned invalid JSON %s: %w", truncate(body), ErrFunction)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusOK,
		Headers:    map[string]string{"content-type": "application/json"},
		Body:       string(body),
	}, nil
}

func truncate(b []byte) string {
	const max = 300
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
