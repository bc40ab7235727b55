package uinput

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// The structs' sizes are part of the request numbers and of every
// read/write: struct uinput_setup is 92 bytes everywhere, struct
// input_event 24 on 64-bit and 16 on 32-bit.
func TestLayout(t *testing.T) {
	if got := unsafe.Sizeof(setup{}); got != 92 {
		t.Errorf("sizeof(uinput_setup) = %d, want 92", got)
	}
	want := uintptr(16)
	if strconv.IntSize == 64 {
		want = 24
	}
	if got := unsafe.Sizeof(Event{}); got != want {
		t.Errorf("sizeof(input_event) = %d, want %d", got, want)
	}
	// The values <linux/uinput.h> and <linux/input.h> expand to.
	for _, tc := range []struct {
		name      string
		got, want uintptr
	}{
		{"UI_DEV_CREATE", uiDevCreate, 0x5501},
		{"UI_DEV_DESTROY", uiDevDestroy, 0x5502},
		{"UI_DEV_SETUP", uiDevSetup, 0x405c5503},
		{"UI_SET_EVBIT", uiSetEvBit, 0x40045564},
		{"UI_SET_KEYBIT", uiSetKeyBit, 0x40045565},
		{"UI_GET_SYSNAME(64)", uiGetSysname(64), 0x8040552c},
		{"EVIOCGRAB", eviocGrab, 0x40044590},
		{"EVIOCGNAME(256)", eviocGName(256), 0x81004506},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %#x, want %#x", tc.name, tc.got, tc.want)
		}
	}
}

// Key numbers checked by hand against linux/input-event-codes.h.
func TestStrokes(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []Stroke
		err  string
	}{
		{text: "a", want: []Stroke{{30, false}}},
		{text: "Qz", want: []Stroke{{16, true}, {44, false}}},
		{text: "09af", want: []Stroke{{11, false}, {10, false}, {30, false}, {33, false}}},
		{text: "https://x.io/?c=AB_1", want: []Stroke{
			{35, false}, {20, false}, {20, false}, {25, false}, {31, false}, {39, true}, {53, false}, {53, false},
			{45, false}, {52, false}, {23, false}, {24, false}, {53, false}, {53, true}, {46, false}, {13, false},
			{30, true}, {48, true}, {12, true}, {2, false}}},
		{text: "!@#$%^&*()", want: []Stroke{{2, true}, {3, true}, {4, true}, {5, true}, {6, true}, {7, true}, {8, true}, {9, true}, {10, true}, {11, true}}},
		{text: " \"|~{}<>", want: []Stroke{{57, false}, {40, true}, {43, true}, {41, true}, {26, true}, {27, true}, {51, true}, {52, true}}},
		{text: "", want: nil},
		{text: "ab\u00e9", err: "character 3 (U+00E9)"},
		{text: "a\nb", err: "character 2 (U+000A)"},
	} {
		got, err := Strokes(tc.text)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Strokes(%q) error = %v, want one containing %q", tc.text, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Strokes(%q) = %v, %v; want %v", tc.text, got, err, tc.want)
		}
	}
}

// Every printable ASCII character types and reads back to itself.
func TestRuneInvertsStrokes(t *testing.T) {
	for r := rune(0x20); r < 0x7f; r++ {
		s, err := Strokes(string(r))
		if err != nil {
			t.Errorf("%q: %v", r, err)
			continue
		}
		if got, ok := Rune(s[0].Code, s[0].Shift); !ok || got != r {
			t.Errorf("%q types as %v, which reads back as %q (%v)", r, s[0], got, ok)
		}
	}
	if _, ok := Rune(keyEnter, false); ok {
		t.Error("Enter reads as a character")
	}
}

// A stroke is press/release with shift around it, each change its own
// report.
func TestStrokeEvents(t *testing.T) {
	got := Stroke{Code: 30, Shift: true}.events()
	want := []Event{
		{Type: evKey, Code: keyLeftShift, Value: 1}, {Type: evSyn},
		{Type: evKey, Code: 30, Value: 1}, {Type: evSyn},
		{Type: evKey, Code: 30, Value: 0}, {Type: evSyn},
		{Type: evKey, Code: keyLeftShift, Value: 0}, {Type: evSyn},
	}
	if !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
}

// On a machine with a uinput device this makes a real keyboard and reads
// it back through evdev; the hwtest VM runs the same round trip as its
// raw.uinput-evdev scenario, where the module is always there.
func TestRoundTrip(t *testing.T) {
	if _, err := os.Stat("/dev/uinput"); err != nil {
		t.Skip("no /dev/uinput here; the hwtest VM covers this (raw.uinput-evdev)")
	}
	k, err := Create("/dev/uinput", Options{Name: "kioskd uinput test", Vendor: 0x1234, Product: 0x5678})
	if err != nil {
		t.Skipf("cannot make a uinput device here: %v", err)
	}
	defer k.Destroy()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := k.EventNode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenEvdev(node)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Grab(); err != nil {
		t.Fatal(err)
	}
	const text = "Ab1!x?"
	if err := k.Type(ctx, text, Tab, 0); err != nil {
		t.Fatal(err)
	}
	got, _, err := r.ReadText(ctx, Tab)
	if err != nil || got != text {
		t.Fatalf("read back %q, %v; want %q", got, err, text)
	}
	if err := k.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.ReadText(ctx, Tab); err == nil || errors.Is(err, ErrNoTerminator) {
		t.Fatalf("reading an unplugged device: %v, want an error (ENODEV)", err)
	}
}
