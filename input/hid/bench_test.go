package hid

import (
	"strings"
	"testing"
	"time"
)

// BenchmarkDecoderCode decodes one kiosk code in its URL form as a scanner
// types it (press/release, shift, EV_SYN): the per-read cost of the HID path
// before the decision step.
func BenchmarkDecoderCode(b *testing.B) {
	evs, err := Type("https://door.example/c?code="+strings.Repeat("0123456789ABCDEF", 4), Enter, t0, time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	d := Decoder{Timeout: DefaultKeyTimeout}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		off := time.Duration(i) * time.Second // each read a second after the last
		n := 0
		for _, e := range evs {
			if e.Type == EvKey {
				if _, ok := d.Key(e.Code, e.Value, e.Time.Add(off)); ok {
					n++
				}
			}
		}
		if n != 1 {
			b.Fatalf("%d reads", n)
		}
	}
	b.ReportMetric(float64(len(evs)), "events/read")
}
