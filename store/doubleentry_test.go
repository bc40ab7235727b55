package store

import (
	"strings"
	"testing"
	"time"
)

// TestDoubleEntryProblem: the one wording of a double entry, shared by the
// fleet's live status and the offline one; the hash is cut to 8 characters.
func TestDoubleEntryProblem(t *testing.T) {
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	d := DoubleEntry{Hash: strings.Repeat("ab", 32), Local: Redemption{Kiosk: "door-1", At: at},
		Peer: Redemption{Kiosk: "door-2", At: at.Add(time.Minute)}}
	want := "fleet: double entry of code abababab: door-1 at 2026-12-03T12:00:00Z and door-2 at 2026-12-03T12:01:00Z"
	if got := d.Problem(); got != want {
		t.Errorf("Problem() = %q, want %q", got, want)
	}
}
