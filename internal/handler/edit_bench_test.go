package handler_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkEditAndReactHandler measures one PATCH (an edit with a new
// clientId) and one PUT of a reaction (alternately on and off) through the
// Lambda adapter on the in-memory fakes; BenchmarkSendHandler/new-message
// is the baseline of the same run.
func BenchmarkEditAndReactHandler(b *testing.B) {
	b.Run("edit", func(b *testing.B) {
		env := newBenchEnv(b, 1)
		base := withHeaders(benchEvent(b, "send-edit-message.json"), "x-api-key", benchAPIKey, "x-user", "alice")
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			ev := base
			id := strconv.FormatInt(int64(i), 16)
			ev.Body = `{"text":"Hello **everyone**","clientId":"00000000-0000-4000-8000-` + strings.Repeat("0", 12-len(id)) + id + `"}`
			proxy(b, env.send, ev, http.StatusOK)
		}
	})
	b.Run("react", func(b *testing.B) {
		env := newBenchEnv(b, 1)
		base := withHeaders(benchEvent(b, "send-react-message.json"), "x-api-key", benchAPIKey)
		on := false
		b.ReportAllocs()
		for b.Loop() {
			on = !on
			ev := base
			ev.Body = `{"emoji":"👍","on":` + strconv.FormatBool(on) + `}`
			proxy(b, env.send, ev, http.StatusOK)
		}
	})
}
