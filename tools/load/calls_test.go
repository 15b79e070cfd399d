package load

import (
	"bytes"
	"testing"
)

func TestCallCounter(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		writes []string
		want   map[string]int
	}{
		{"request lines by route", []string{
			`[functions] {"time":"t","level":"INFO","msg":"request","method":"GET","route":"GET /room/{room}/events","status":200}` + "\n",
			`[functions] {"msg":"request","route":"POST /room/{room}/messages"}` + "\n" + `[functions] {"msg":"request","route":"GET /room/{room}/events"}` + "\n",
		}, map[string]int{RouteStream: 2, RouteSend: 1}},
		{"split across writes", []string{`[functions] {"msg":"requ`, `est","route":"GET /rooms"}` + "\n"}, map[string]int{"GET /rooms": 1}},
		{"other parts and messages ignored", []string{
			`[apigw] {"msg":"request","route":"GET /room/{room}/events"}` + "\n",
			`[functions] {"msg":"published","route":"x"}` + "\n",
			`[functions] not json "msg":"request"` + "\n",
		}, map[string]int{}},
		{"no newline yet", []string{`[functions] {"msg":"request","route":"GET /rooms"}`}, map[string]int{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			c := NewCallCounter(&out)
			want := ""
			for _, w := range tc.writes {
				if _, err := c.Write([]byte(w)); err != nil {
					t.Fatal(err)
				}
				want += w
			}
			got := c.Snapshot()
			if len(got) != len(tc.want) {
				t.Errorf("counts = %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("counts[%q] = %d, want %d (all %v)", k, got[k], v, got)
				}
			}
			if out.String() != want {
				t.Errorf("passed on %q, want %q", out.String(), want)
			}
		})
	}
}
