package scanner

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePayload(t *testing.T) {
	upper := strings.ToUpper(testCode)
	tests := []struct {
		in   string
		want string // "" means ErrNotACode
	}{
		{testCode, testCode},
		{upper, testCode},
		{"  \n" + testCode + "\r\n", testCode},
		{"https://kiosk.example/check?code=" + testCode, testCode},
		{"https://kiosk.example/check?venue=3&code=" + upper + "&x=1", testCode},
		{"https://kiosk.example/check?code=" + testCode + "#frag", testCode},
		{"", ""},
		{testCode[:63], ""},
		{testCode + "0", ""},
		{testCode[:63] + "g", ""},
		{"https://kiosk.example/check?code=" + testCode[:63], ""},
		{"https://kiosk.example/check?code=" + testCode + "0", ""},
		{"https://kiosk.example/check?codes=" + testCode, ""},
		{"https://kiosk.example/check?xcode=" + testCode, ""},
		{"https://kiosk.example/" + testCode, ""},
		{"https://example.org/", ""},
		{"BEGIN:VCARD\nFN:Someone\nEND:VCARD", ""},
		{"0x" + testCode[:62], ""},
		{strings.Repeat("é", 32), ""},
	}
	for _, tt := range tests {
		got, err := ParsePayload(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrNotACode) || got != "" {
				t.Errorf("ParsePayload(%q) = %q, %v; want ErrNotACode", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParsePayload(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParsePayloadAllocs(t *testing.T) {
	for _, in := range []string{testCode, "https://example.org/", "https://kiosk.example/check?code=" + testCode} {
		if n := testing.AllocsPerRun(100, func() { _, _ = ParsePayload(in) }); n != 0 {
			t.Errorf("ParsePayload(%q) allocates %v times", in, n)
		}
	}
}

func FuzzParsePayload(f *testing.F) {
	f.Add(testCode)
	f.Add(strings.ToUpper(testCode))
	f.Add("https://k.example/?a=b&code=" + testCode)
	f.Add("?code=")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParsePayload(in)
		if err != nil {
			if !errors.Is(err, ErrNotACode) || got != "" {
				t.Fatalf("ParsePayload(%q) = %q, %v", in, got, err)
			}
			return
		}
		if len(got) != CodeLen || strings.Trim(got, "0123456789abcdef") != "" {
			t.Fatalf("ParsePayload(%q) = %q: not 64 lower-case hex", in, got)
		}
		if !strings.Contains(strings.ToLower(in), got) {
			t.Fatalf("ParsePayload(%q) = %q: not taken from the input", in, got)
		}
		// A normalized code is a fixed point.
		if again, err := ParsePayload(got); err != nil || again != got {
			t.Fatalf("ParsePayload(%q) = %q, %v; not a fixed point", got, again, err)
		}
	})
}
