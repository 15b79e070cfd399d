package grip

import (
	"strings"
	"testing"
)

func TestParseGripURL(t *testing.T) {
	t.Parallel()
	fastlyPEM, err := ParseKey("base64:" + FastlyPublicKey)
	if err != nil {
		t.Fatalf("ParseKey: %v", err)
	}
	tests := []struct {
		name    string
		raw     string
		want    PublishConfig
		wantErr string
	}{
		{
			name: "pushpin",
			raw:  "http://127.0.0.1:5561",
			want: PublishConfig{ControlURI: "http://127.0.0.1:5561"},
		},
		{
			name: "trailing slash dropped",
			raw:  "http://127.0.0.1:5561/",
			want: PublishConfig{ControlURI: "http://127.0.0.1:5561"},
		},
		{
			name: "fastly",
			raw:  "https://api.fastly.com/service/SVC123?verify-iss=fastly:SVC123&key=tok_abc",
			want: PublishConfig{ControlURI: "https://api.fastly.com/service/SVC123", Key: "tok_abc", VerifyIss: "fastly:SVC123"},
		},
		{
			name: "fastly with verify-key",
			raw:  "https://api.fastly.com/service/SVC123/?key=tok&verify-iss=fastly:SVC123&verify-key=base64:" + FastlyPublicKey,
			want: PublishConfig{ControlURI: "https://api.fastly.com/service/SVC123", Key: "tok", VerifyIss: "fastly:SVC123", VerifyKey: string(fastlyPEM)},
		},
		{
			name: "escaped base64 verify-key",
			raw:  "https://api.fastly.com/service/S?key=t&verify-key=base64%3AaGk%3D",
			want: PublishConfig{ControlURI: "https://api.fastly.com/service/S", Key: "t", VerifyKey: "hi"},
		},
		{
			name: "jwt auth",
			raw:  "https://grip.example/realm?iss=realm1&key=base64:c2VjcmV0",
			want: PublishConfig{ControlURI: "https://grip.example/realm", Key: "secret", ControlIss: "realm1"},
		},
		{name: "empty", raw: " ", wantErr: "empty"},
		{name: "host without scheme", raw: "localhost:5561", wantErr: "scheme"},
		{name: "ip without scheme", raw: "127.0.0.1:5561", wantErr: "parse GRIP URL"},
		{name: "ftp", raw: "ftp://host/x", wantErr: "scheme"},
		{name: "no host", raw: "http:///publish", wantErr: "no host"},
		{name: "user info", raw: "https://u:p@api.fastly.com/service/x", wantErr: "user info"},
		{name: "unknown parameter", raw: "https://api.fastly.com/service/x?channel=a", wantErr: `"channel"`},
		{name: "repeated key", raw: "https://api.fastly.com/service/x?key=a&key=b", wantErr: "repeated"},
		{name: "bad verify-key", raw: "https://api.fastly.com/service/x?verify-key=base64:%21%21", wantErr: "verify-key"},
		{name: "iss without key", raw: "https://grip.example/?iss=x", wantErr: "no key"},
		{name: "unparsable", raw: "http://[::1", wantErr: "parse GRIP URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseGripURL(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseGripURL(%q) error = %v, want one containing %q", tt.raw, err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "grip: ") {
					t.Errorf("error %q lacks the grip: prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseGripURL(%q): %v", tt.raw, err)
			}
			if got != tt.want {
				t.Fatalf("ParseGripURL(%q) =\n %+v\nwant\n %+v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestFastlyPublishConfig(t *testing.T) {
	t.Parallel()
	got := FastlyPublishConfig("SVC123", "tok")
	want := PublishConfig{ControlURI: "https://api.fastly.com/service/SVC123", Key: "tok"}
	if got != want {
		t.Fatalf("FastlyPublishConfig = %+v, want %+v", got, want)
	}
}

// TestParseGripURLKeepsTokensOutOfErrors: a token pasted without its
// "key=" is a parameter name; the error, which is logged, must not
// repeat it.
func TestParseGripURLKeepsTokensOutOfErrors(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"http://0?SECRETTOKEN", "https://api.fastly.com/service/x?Zq8xSECRETTOKENvL2p&iss=a"} {
		_, err := ParseGripURL(raw)
		if err == nil || strings.Contains(err.Error(), "SECRETTOKEN") {
			t.Errorf("ParseGripURL(%q) error = %v, want one without the token", raw, err)
		}
	}
}
