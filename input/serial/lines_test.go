package serial

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func TestLines(t *testing.T) {
	type chunk struct {
		b  string
		ms int
	}
	tests := []struct {
		name    string
		term    Terminator
		timeout time.Duration
		in      []chunk
		want    []string
		dropped int
	}{
		{"cr", CR, 0, []chunk{{"abc\r", 0}}, []string{"abc"}, 0},
		{"cr, module sends crlf", CR, 0, []chunk{{"abc\r\ndef\r\n", 0}}, []string{"abc", "def"}, 0},
		{"lf", LF, 0, []chunk{{"abc\n", 0}, {"d\r\n", 1}}, []string{"abc", "d"}, 0},
		{"crlf", CRLF, 0, []chunk{{"abc\r\n", 0}, {"de\r", 1}, {"\n", 2}}, []string{"abc", "de"}, 0},
		{"crlf: a lone cr or lf is not the end", CRLF, 0, []chunk{{"a\rb\nc\r\n", 0}}, []string{"abc"}, 0},
		{"split over reads", CR, 0, []chunk{{"ab", 0}, {"c", 1}, {"\rd", 2}, {"\r", 3}}, []string{"abc", "d"}, 0},
		{"empty reads", CR, 0, []chunk{{"\r\r\r", 0}}, nil, 0},
		{"control characters dropped (STX/ETX framing)", CR, 0, []chunk{{"\x02abc\x03\r", 0}}, []string{"abc"}, 0},
		{"gap past the timeout drops the half read", CR, 100 * time.Millisecond,
			[]chunk{{"noise", 0}, {"abc", 500}, {"\r", 510}}, []string{"abc"}, 1},
		{"gap within the timeout", CR, 100 * time.Millisecond, []chunk{{"ab", 0}, {"c\r", 100}}, []string{"abc"}, 0},
		{"too long", CR, 0, []chunk{{strings.Repeat("x", 1100) + "\rok\r", 0}}, []string{"ok"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Lines{Terminator: tt.term, Timeout: tt.timeout}
			var got []string
			for _, c := range tt.in {
				l.Feed([]byte(c.b), t0.Add(time.Duration(c.ms)*time.Millisecond), func(s string) { got = append(got, s) })
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("reads %q, want %q", got, tt.want)
			}
			if l.Dropped() != tt.dropped {
				t.Errorf("dropped %d, want %d", l.Dropped(), tt.dropped)
			}
		})
	}
}

func TestLinesExpireAndReset(t *testing.T) {
	l := Lines{Timeout: 100 * time.Millisecond}
	l.Feed([]byte("ab"), t0, func(string) { t.Error("a read from half a line") })
	l.Expire(t0.Add(50 * time.Millisecond))
	if !l.Pending() {
		t.Fatal("expired before the timeout")
	}
	l.Expire(t0.Add(150 * time.Millisecond))
	if l.Pending() || l.Dropped() != 1 {
		t.Fatalf("pending %v dropped %d after the timeout", l.Pending(), l.Dropped())
	}
	l.Feed([]byte("cd"), t0.Add(time.Second), func(string) {})
	l.Reset()
	var got []string
	l.Feed([]byte("ef\r"), t0.Add(time.Second), func(s string) { got = append(got, s) })
	if len(got) != 1 || got[0] != "ef" || l.Dropped() != 2 {
		t.Errorf("after Reset: %q, dropped %d", got, l.Dropped())
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"cr", "lf", "crlf"} {
		if tm, err := ParseTerminator(s); err != nil || tm.String() != s {
			t.Errorf("ParseTerminator(%q) = %v, %v", s, tm, err)
		}
	}
	for _, s := range []string{"none", "even", "odd"} {
		if p, err := ParseParity(s); err != nil || p.String() != s {
			t.Errorf("ParseParity(%q) = %v, %v", s, p, err)
		}
	}
	for _, s := range []string{"", "CR", "\r", "enter"} {
		if _, err := ParseTerminator(s); err == nil {
			t.Errorf("ParseTerminator(%q) accepted", s)
		}
	}
	for _, s := range []string{"", "mark", "space", "N"} {
		if _, err := ParseParity(s); err == nil {
			t.Errorf("ParseParity(%q) accepted", s)
		}
	}
}

// FuzzLines: whatever the module sends, reads are never empty, never over
// the bound, and never hold a control character or a terminator.
func FuzzLines(f *testing.F) {
	f.Add([]byte("https://x/?code=abc\r\n"), uint8(0), uint8(3))
	f.Add([]byte("\x02\r\r\n\n"), uint8(2), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, term, split uint8) {
		l := Lines{Terminator: Terminator(term % 3), Timeout: time.Millisecond}
		at := t0
		step := int(split%16) + 1
		for len(data) > 0 {
			n := min(step, len(data))
			l.Feed(data[:n], at, func(s string) {
				if s == "" || len(s) > 1024 {
					t.Fatalf("read of %d bytes", len(s))
				}
				for i := 0; i < len(s); i++ {
					if s[i] < ' ' || s[i] == 0x7f {
						t.Fatalf("read holds %q", s[i])
					}
				}
			})
			data = data[n:]
			at = at.Add(time.Duration(split) * 100 * time.Microsecond)
		}
	})
}
