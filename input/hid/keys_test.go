package hid

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// key is one event for the decoder tables: a press or release at ms after t0.
type key struct {
	code  uint16
	value int32
	ms    int
}

func press(code uint16, ms int) []key { return []key{{code, Press, ms}, {code, Release, ms}} }

func TestDecoder(t *testing.T) {
	const (
		a, b, one, zero = 30, 48, 2, 11
		slash, semi     = 53, 39
		f1, ctrl        = 59, 29
		kp1             = 79
	)
	cat := func(ks ...[]key) []key {
		var out []key
		for _, k := range ks {
			out = append(out, k...)
		}
		return out
	}
	shifted := func(code uint16, ms int) []key {
		return []key{{KeyLeftShift, Press, ms}, {code, Press, ms}, {code, Release, ms}, {KeyLeftShift, Release, ms}}
	}
	tests := []struct {
		name    string
		term    Terminator
		timeout time.Duration
		keys    []key
		want    []string
		dropped int
	}{
		{"plain", Enter, 0, cat(press(a, 0), press(one, 1), press(KeyEnter, 2)), []string{"a1"}, 0},
		{"shift", Enter, 0, cat(shifted(a, 0), press(b, 1), shifted(one, 2), press(KeyEnter, 3)), []string{"Ab!"}, 0},
		{"right shift", Enter, 0, cat([]key{{KeyRightShift, Press, 0}}, press(semi, 0), []key{{KeyRightShift, Release, 0}}, press(semi, 1), press(KeyEnter, 2)), []string{":;"}, 0},
		{"URL characters", Enter, 0, cat(press(slash, 0), shifted(slash, 1), press(13, 2), press(KeyEnter, 3)), []string{"/?="}, 0},
		{"keypad digits and enter", Enter, 0, cat(press(kp1, 0), press(82, 1), press(KeyKPEnter, 2)), []string{"10"}, 0},
		{"tab terminator", Tab, 0, cat(press(a, 0), press(KeyEnter, 1), press(b, 2), press(KeyTab, 3)), []string{"ab"}, 0},
		{"enter is not tab's terminator", Enter, 0, cat(press(a, 0), press(KeyTab, 1), press(b, 2), press(KeyEnter, 3)), []string{"ab"}, 0},
		{"two reads", Enter, 0, cat(press(a, 0), press(KeyEnter, 1), press(b, 2), press(KeyEnter, 3)), []string{"a", "b"}, 0},
		{"empty read", Enter, 0, cat(press(KeyEnter, 0), press(KeyEnter, 1)), nil, 0},
		{"unmapped keys type nothing", Enter, 0, cat(press(f1, 0), press(ctrl, 1), press(a, 2), press(500, 3), press(KeyEnter, 4)), []string{"a"}, 0},
		{"auto-repeat ignored", Enter, 0, cat([]key{{a, Press, 0}, {a, Repeat, 1}, {a, Repeat, 2}, {a, Release, 3}}, press(KeyEnter, 4)), []string{"a"}, 0},
		{"half-typed read dropped after the timeout", Enter, 50 * time.Millisecond,
			cat(press(a, 0), press(a, 10), press(b, 100), press(zero, 110), press(KeyEnter, 120)), []string{"b0"}, 1},
		{"gap exactly the timeout keeps the read", Enter, 50 * time.Millisecond,
			cat(press(a, 0), press(b, 50), press(KeyEnter, 100)), []string{"ab"}, 0},
		{"late terminator drops the read", Enter, 50 * time.Millisecond,
			cat(press(a, 0), press(KeyEnter, 60)), nil, 1},
		{"no timeout: slow typing kept", Enter, 0, cat(press(a, 0), press(b, 60000), press(KeyEnter, 120000)), []string{"ab"}, 0},
		{"shift released before the next key", Enter, 0, cat(shifted(a, 0), press(a, 1), press(KeyEnter, 2)), []string{"Aa"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decoder{Terminator: tt.term, Timeout: tt.timeout}
			var got []string
			for _, k := range tt.keys {
				if text, ok := d.Key(k.code, k.value, t0.Add(time.Duration(k.ms)*time.Millisecond)); ok {
					got = append(got, text)
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("reads %q, want %q", got, tt.want)
			}
			if d.Dropped() != tt.dropped {
				t.Errorf("dropped %d, want %d", d.Dropped(), tt.dropped)
			}
		})
	}
}

func TestDecoderDropsTooLongRead(t *testing.T) {
	d := Decoder{}
	long := strings.Repeat("a", 2000)
	evs, err := Type(long, Enter, t0, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Type != EvKey {
			continue
		}
		if text, ok := d.Key(e.Code, e.Value, e.Time); ok {
			t.Fatalf("a %d-character read was accepted (%d characters)", len(long), len(text))
		}
	}
	if d.Dropped() != 1 || d.Pending() {
		t.Errorf("dropped %d, pending %v; want 1 dropped and nothing pending", d.Dropped(), d.Pending())
	}
	// The next read is whole again.
	evs, _ = Type("ab", Enter, t0.Add(time.Second), time.Millisecond)
	var got string
	for _, e := range evs {
		if e.Type == EvKey {
			if text, ok := d.Key(e.Code, e.Value, e.Time); ok {
				got = text
			}
		}
	}
	if got != "ab" {
		t.Errorf("after an overflow: %q, want ab", got)
	}
}

// Type and the decoder are inverse of each other on everything a US layout
// types: a kiosk code, its URL form, every printable ASCII character.
func TestTypeRoundTrip(t *testing.T) {
	var ascii strings.Builder
	for c := byte(' '); c < 0x7f; c++ {
		ascii.WriteByte(c)
	}
	for _, text := range []string{
		strings.Repeat("0123456789abcdef", 4),
		"https://kiosk.example/c?code=" + strings.Repeat("ABCDEF0123456789", 4) + "&x=1#y",
		ascii.String(),
	} {
		for _, term := range []Terminator{Enter, Tab} {
			if term == Tab {
				text = strings.ReplaceAll(text, "\t", "")
			}
			evs, err := Type(text, term, t0, 3*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			d := Decoder{Terminator: term, Timeout: 10 * time.Millisecond}
			var got []string
			for _, e := range evs {
				if e.Type == EvKey {
					if s, ok := d.Key(e.Code, e.Value, e.Time); ok {
						got = append(got, s)
					}
				}
			}
			if len(got) != 1 || got[0] != text {
				t.Errorf("%v: typed %q, read %q", term, text, got)
			}
		}
	}
	if _, err := Type("é", Enter, t0, 0); err == nil {
		t.Error("Type accepted a character a US layout cannot type")
	}
}

func TestParseTerminator(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Terminator
		ok   bool
	}{{"enter", Enter, true}, {"tab", Tab, true}, {"Enter", 0, false}, {"", 0, false}, {"crlf", 0, false}} {
		got, err := ParseTerminator(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseTerminator(%q) = %v, %v", tt.in, got, err)
		}
		if tt.ok && got.String() != tt.in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tt.in)
		}
	}
}

// FuzzDecoder feeds arbitrary event streams: the decoder never panics, a
// read is never empty nor longer than input.MaxText, and it holds only
// characters of the layout.
func FuzzDecoder(f *testing.F) {
	evs, _ := Type("https://x/?code="+strings.Repeat("a1", 32), Enter, t0, time.Millisecond)
	f.Add(Encode(evs), int64(0))
	f.Add(Encode(evs), int64(time.Millisecond))
	f.Add([]byte{}, int64(-1))
	f.Fuzz(func(t *testing.T, data []byte, timeout int64) {
		d := Decoder{Terminator: Terminator(len(data) % 2), Timeout: time.Duration(timeout)}
		for len(data) >= EventSize {
			e := parseEvent(data[:EventSize])
			data = data[EventSize:]
			text, ok := d.Key(e.Code, e.Value, e.Time)
			if !ok {
				continue
			}
			if text == "" || len(text) > 1024 {
				t.Fatalf("read of %d characters", len(text))
			}
			for i := 0; i < len(text); i++ {
				if text[i] < ' ' || text[i] >= 0x7f {
					t.Fatalf("read holds %q", text[i])
				}
			}
		}
	})
}
