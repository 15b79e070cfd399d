package apigw

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// TimeLayout is the layout of requestContext.time in payload 2.0.
const TimeLayout = "02/Jan/2006:15:04:05 -0700"

// RequestMeta is what API Gateway adds to a request beyond the HTTP message
// itself.
type RequestMeta struct {
	// RequestID is requestContext.requestId.
	RequestID string
	// Time is when the request arrived.
	Time time.Time
	// AccountID and APIID identify the API.
	AccountID string
	APIID     string
	// TraceID is the x-amzn-trace-id header value.
	TraceID string
}

// NewEvent builds the payload 2.0 event API Gateway would send for r matched
// to route with pathParams. body is the request body already read.
//
// As API Gateway does: header names are lower-cased and repeated values
// joined with commas; the Cookie header is moved to the cookies array;
// repeated query parameters are joined with commas; x-forwarded-for,
// x-forwarded-port, x-forwarded-proto and x-amzn-trace-id are added; a body
// whose Content-Type is not text is base64-encoded with isBase64Encoded set.
func NewEvent(r *http.Request, route Route, pathParams map[string]string, body []byte, meta RequestMeta) events.APIGatewayV2HTTPRequest {
	sourceIP := r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sourceIP = host
	}
	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		lname := strings.ToLower(name)
		if lname == "cookie" {
			for _, v := range values {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lname] = strings.Join(values, ",")
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	if xff := headers["x-forwarded-for"]; xff != "" {
		headers["x-forwarded-for"] = xff + ", " + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	headers["x-forwarded-proto"] = "http"
	if r.TLS != nil {
		headers["x-forwarded-proto"] = "https"
	}
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		headers["x-forwarded-port"] = port
	} else if r.TLS != nil {
		headers["x-forwarded-port"] = "443"
	} else {
		headers["x-forwarded-port"] = "80"
	}
	if meta.TraceID != "" {
		headers["x-amzn-trace-id"] = meta.TraceID
	}
	if headers["content-length"] == "" {
		headers["content-length"] = strconv.Itoa(len(body))
	}

	var query map[string]string
	if q := r.URL.Query(); len(q) > 0 {
		query = make(map[string]string, len(q))
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			query[k] = strings.Join(q[k], ",")
		}
	}

	domainPrefix, _, _ := strings.Cut(hostOnly(r.Host), ".")
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.Key(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        pathParams,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route.Key(),
			AccountID:    meta.AccountID,
			Stage:        "$default",
			RequestID:    meta.RequestID,
			APIID:        meta.APIID,
			DomainName:   hostOnly(r.Host),
			DomainPrefix: domainPrefix,
			Time:         meta.Time.UTC().Format(TimeLayout),
			TimeEpoch:    meta.Time.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isTextContent(r.Header.Get("Content-Type")) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// isTextContent reports whether API Gateway passes a body of this content
// type as text: text/*, JSON, XML and JavaScript. Everything else, form
// posts and a missing type included, arrives base64-encoded.
func isTextContent(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "application/ecmascript":
		return true
	}
	return false
}

// hostOnly strips a port from a Host header value.
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// MarshalEvent encodes ev as API Gateway sends it. events' struct always
// writes requestContext.authentication; API Gateway omits it when the
// request carried no client certificate, and so does MarshalEvent.
func MarshalEvent(ev events.APIGatewayV2HTTPRequest) ([]byte, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("apigw: encode event: %w", err)
	}
	if ev.RequestContext.Authentication != (events.APIGatewayV2HTTPRequestContextAuthentication{}) {
		return b, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("apigw: re-decode event: %w", err)
	}
	var rc map[string]json.RawMessage
	if err := json.Unmarshal(m["requestContext"], &rc); err != nil {
		return nil, fmt.Errorf("apigw: re-decode request context: %w", err)
	}
	delete(rc, "authentication")
	if m["requestContext"], err = json.Marshal(rc); err != nil {
		return nil, fmt.Errorf("apigw: encode request context: %w", err)
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("apigw: encode event: %w", err)
	}
	return out, nil
}
