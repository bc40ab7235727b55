package input

import (
	"errors"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scanner"
)

func TestReporterForwardsChangesOnly(t *testing.T) {
	var got []scanner.State
	r := Reporter{OnState: func(s scanner.State) { got = append(got, s) }}
	gone := errors.New("gone")
	for _, s := range []scanner.State{
		{Detail: "gone", Err: gone}, {Detail: "gone", Err: gone}, {Detail: "gone", Err: gone},
		{Up: true, Detail: "/dev/x"}, {Up: true, Detail: "/dev/x"},
		{Detail: "gone", Err: gone}, {Detail: "missing", Err: gone},
	} {
		r.Report(s)
	}
	want := []string{"down gone", "up /dev/x", "down gone", "down missing"}
	if len(got) != len(want) {
		t.Fatalf("forwarded %+v, want %v", got, want)
	}
	for i, s := range got {
		d := "down "
		if s.Up {
			d = "up "
		}
		if d+s.Detail != want[i] {
			t.Errorf("state %d: %q, want %q", i, d+s.Detail, want[i])
		}
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Min: 10 * time.Millisecond, Max: 35 * time.Millisecond}
	var got []time.Duration
	for range 5 {
		got = append(got, b.Next())
	}
	b.Reset()
	got = append(got, b.Next())
	want := []time.Duration{10, 20, 35, 35, 35, 10}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("delays %v, want %v ms", got, want)
		}
	}
}
