package screen

import (
	"testing"
	"time"
)

// BenchmarkVerdict is what the scan lane pays per verdict for the screen,
// with four pages reading their event streams:
//
//	go test -run '^$' -bench Verdict -benchtime 20000x ./screen
func BenchmarkVerdict(b *testing.B) {
	s := New(Options{MaxClients: 4, Hold: time.Minute})
	base := serve(b, s)
	for range 4 {
		c := openStream(b, base+"events")
		go func() {
			for c.sc.Scan() { // read as a page does, until the stream ends
			}
		}()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s.Verdict(used)
	}
}
