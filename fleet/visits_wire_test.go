package fleet

import (
	"errors"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
)

func TestVisitRoundTrip(t *testing.T) {
	r := store.Redemption{Hash: store.HashCode("x"), At: time.Date(2026, 12, 3, 10, 0, 0, 123, time.UTC), Kiosk: "till-1", Nonce: "abc123", Holder: "bb1qxy9"}
	b, err := encodeVisit(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeVisit("till-1", b)
	if err != nil {
		t.Fatal(err)
	}
	want := store.VisitEvent{ID: "abc123", Holder: "bb1qxy9", Kiosk: "till-1", At: r.At}
	if got != want {
		t.Fatalf("got %+v want %+v", got, want)
	}
}

func TestDecodeVisitRejects(t *testing.T) {
	ok := `"at":"2026-01-01T00:00:00Z","id":"n"`
	tests := []struct{ name, topicKiosk, payload string }{
		{"empty", "A", ""},
		{"not json", "A", "{"},
		{"kiosk mismatch", "B", `{"v":1,"kiosk":"A","holder":"bb1a",` + ok + `}`},
		{"version", "A", `{"v":2,"kiosk":"A","holder":"bb1a",` + ok + `}`},
		{"no holder", "A", `{"v":1,"kiosk":"A",` + ok + `}`},
		{"holder with punctuation", "A", `{"v":1,"kiosk":"A","holder":"bb1a/../x",` + ok + `}`},
		{"no id", "A", `{"v":1,"kiosk":"A","holder":"bb1a","at":"2026-01-01T00:00:00Z"}`},
		{"no time", "A", `{"v":1,"kiosk":"A","holder":"bb1a","id":"n"}`},
		{"a code field", "A", `{"v":1,"kiosk":"A","holder":"bb1a","code":"x",` + ok + `}`},
		{"trailing", "A", `{"v":1,"kiosk":"A","holder":"bb1a",` + ok + `} {}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeVisit(tc.topicKiosk, []byte(tc.payload)); !errors.Is(err, errForeign) {
				t.Fatalf("err = %v, want errForeign", err)
			}
		})
	}
}

func FuzzDecodeVisit(f *testing.F) {
	b, _ := encodeVisit(store.Redemption{At: time.Unix(1, 0), Kiosk: "A", Nonce: "n", Holder: "bb1a"})
	f.Add("A", b)
	f.Add("A", []byte(`{"v":1}`))
	f.Add("", []byte("null"))
	f.Fuzz(func(t *testing.T, kiosk string, payload []byte) {
		v, err := decodeVisit(kiosk, payload)
		if err != nil {
			return
		}
		// Anything accepted is safe to hand to the store.
		if !isAddress(v.Holder) || !isNonce(v.ID) || v.Kiosk != kiosk || v.At.IsZero() {
			t.Fatalf("accepted %+v", v)
		}
		if _, err := encodeVisit(store.Redemption{Kiosk: v.Kiosk, Nonce: v.ID, Holder: v.Holder, At: v.At}); err != nil {
			t.Fatal(err)
		}
	})
}
