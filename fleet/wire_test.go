package fleet

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
)

func TestRedemptionRoundTrip(t *testing.T) {
	r := store.Redemption{Hash: store.HashCode("x"), At: time.Date(2026, 11, 23, 10, 0, 0, 123, time.UTC), Kiosk: "door-1", Direction: store.DirEntry, Nonce: "abc123"}
	b, err := encodeRedemption(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRedemption("door-1", b)
	if err != nil {
		t.Fatal(err)
	}
	r.Peer = true
	if got != r {
		t.Fatalf("got %+v want %+v", got, r)
	}
}

func TestDecodeRedemptionRejects(t *testing.T) {
	h := store.HashCode("x")
	tests := []struct{ name, topicKiosk, payload string }{
		{"empty", "A", ""},
		{"not json", "A", "{"},
		{"array", "A", "[]"},
		{"two objects", "A", `{"v":1,"kiosk":"A","hash":"` + h + `","at":"2026-01-01T00:00:00Z","nonce":"n"}{}`},
		{"kiosk mismatch", "B", `{"v":1,"kiosk":"A","hash":"` + h + `","at":"2026-01-01T00:00:00Z","nonce":"n"}`},
		{"no time", "A", `{"v":1,"kiosk":"A","hash":"` + h + `","nonce":"n"}`},
		{"bad dir", "A", `{"v":1,"kiosk":"A","hash":"` + h + `","at":"2026-01-01T00:00:00Z","dir":"sideways","nonce":"n"}`},
		{"no nonce", "A", `{"v":1,"kiosk":"A","hash":"` + h + `","at":"2026-01-01T00:00:00Z"}`},
		{"code field", "A", `{"v":1,"kiosk":"A","code":"` + h + `","at":"2026-01-01T00:00:00Z","nonce":"n"}`},
		{"huge", "A", `{"v":1,"kiosk":"` + strings.Repeat("A", 5000) + `"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeRedemption(tc.topicKiosk, []byte(tc.payload)); !errors.Is(err, errForeign) {
				t.Fatalf("err = %v, want errForeign", err)
			}
		})
	}
}

func TestSplitTopic(t *testing.T) {
	tests := []struct {
		topic, seg, kiosk string
		ok                bool
	}{
		{"v/x/redemption/A", "redemption", "A", true},
		{"v/x/status/door 2", "status", "door 2", true},
		{"v/x/redemption/", "", "", false},
		{"v/x/redemption/A/B", "", "", false},
		{"v/y/redemption/A", "", "", false},
		{"v/x", "", "", false},
	}
	for _, tc := range tests {
		seg, kiosk, ok := splitTopic("v/x", tc.topic)
		if seg != tc.seg || kiosk != tc.kiosk || ok != tc.ok {
			t.Errorf("splitTopic(%q) = %q %q %v", tc.topic, seg, kiosk, ok)
		}
	}
}

func TestConflictRule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := func(dir string, at time.Time) store.Redemption { return store.Redemption{Direction: dir, At: at} }
	tests := []struct {
		name   string
		policy Policy
		a, b   store.Redemption
		want   bool
	}{
		{"single: two entries", Policy{Reuse: "single"}, r("", t0), r("", t0.Add(time.Hour)), true},
		{"single: an exit", Policy{Reuse: "single"}, r(store.DirEntry, t0), r(store.DirExit, t0), false},
		{"cooldown: within", Policy{Reuse: "cooldown", Cooldown: time.Minute}, r("", t0), r("", t0.Add(-30*time.Second)), true},
		{"cooldown: after", Policy{Reuse: "cooldown", Cooldown: time.Minute}, r("", t0), r("", t0.Add(time.Minute)), false},
	}
	for _, tc := range tests {
		if got := ConflictRule(tc.policy)(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
	if ConflictRule(Policy{Reuse: "unlimited"}) != nil {
		t.Error("unlimited has conflicts")
	}
}

func TestParseCredentials(t *testing.T) {
	tests := []struct{ in, user, pass string }{
		{"alice:s3cret", "alice", "s3cret"},
		{"alice:with:colons", "alice", "with:colons"},
		{"alice:", "alice", ""},
		{"username: alice\npassword: s3cret\n", "alice", "s3cret"},
		{"username:alice", "username", "alice"}, // one line: the colon form
	}
	for _, tc := range tests {
		u, p, err := ParseCredentials(tc.in)
		if err != nil || u != tc.user || p != tc.pass {
			t.Errorf("ParseCredentials(%q) = %q %q %v", tc.in, u, p, err)
		}
	}
}

func FuzzDecodeRedemption(f *testing.F) {
	b, _ := encodeRedemption(store.Redemption{Hash: store.HashCode("x"), At: time.Unix(1, 0), Kiosk: "A", Nonce: "n"})
	f.Add("A", b)
	f.Add("A", []byte(`{"v":1}`))
	f.Add("", []byte("null"))
	f.Fuzz(func(t *testing.T, kiosk string, payload []byte) {
		r, err := decodeRedemption(kiosk, payload)
		if err != nil {
			return
		}
		// Anything accepted is safe to hand to the store.
		if !isHash(r.Hash) || !isNonce(r.Nonce) || r.Kiosk != kiosk || r.At.IsZero() || !r.Peer {
			t.Fatalf("accepted %+v", r)
		}
		if _, err := encodeRedemption(r); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzParseCredentials(f *testing.F) {
	f.Add("alice:s3cret")
	f.Add("username: a\npassword: b")
	f.Add("- x\n- y")
	// Every error is one of these fixed texts (digits aside): none can carry
	// a piece of the secret.
	known := map[string]bool{
		"credentials: YAML form must have only the keys username and password":               true,
		"credentials: username is empty":                                                     true,
		"credentials: expected username:password (N characters, no colon or empty username)": true,
	}
	digits := regexp.MustCompile(`[0-9]+`)
	f.Fuzz(func(t *testing.T, s string) {
		_, _, err := ParseCredentials(s)
		if err != nil && !known[digits.ReplaceAllString(err.Error(), "N")] {
			t.Fatalf("unexpected error text: %v", err)
		}
	})
}
