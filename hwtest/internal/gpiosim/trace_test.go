package gpiosim

import (
	"reflect"
	"strings"
	"testing"
)

// Lines as the 6.1 kernel prints them (include/trace/events/gpio.h).
const sampleTrace = `# tracer: nop
#
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
         hwguest-98      [001] .....    12.000001: tracing_mark_write: hwtest: exec kioskd
          kioskd-120     [000] .....    12.500000: gpio_value: 512 set 0
          kioskd-120     [000] .....    12.500002: gpio_direction: 512 out (0)
          kioskd-120     [001] .....    12.600000: gpio_value: 513 get 1
          kioskd-120     [001] .....    12.700000: gpio_direction: 514  in (0)
          kioskd-120     [001] .....    13.000000: gpio_value: 512 set 1
         hwguest-98      [001] .....    13.100000: tracing_mark_write: hwtest: SIGTERM
`

func TestParseTrace(t *testing.T) {
	got, err := parseTrace(strings.NewReader(sampleTrace))
	if err != nil {
		t.Fatal(err)
	}
	want := []TraceEvent{
		{Comm: "hwguest-98", Kind: "mark", Text: "hwtest: exec kioskd"},
		{Comm: "kioskd-120", Kind: "set", GPIO: 512, Value: 0},
		{Comm: "kioskd-120", Kind: "out", GPIO: 512},
		{Comm: "kioskd-120", Kind: "in", GPIO: 514},
		{Comm: "kioskd-120", Kind: "set", GPIO: 512, Value: 1},
		{Comm: "hwguest-98", Kind: "mark", Text: "hwtest: SIGTERM"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

// A gpio line that does not parse must be an error, never dropped: a lost
// level set could be the glitch the test exists to catch.
func TestParseTraceRejectsMalformed(t *testing.T) {
	for _, line := range []string{
		"k-1 [000] ..... 1.0: gpio_value: 512 set",
		"k-1 [000] ..... 1.0: gpio_value: x set 1",
		"k-1 [000] ..... 1.0: gpio_value: 512 set one",
		"k-1 [000] ..... 1.0: gpio_direction: 512 sideways (0)",
		"k-1 [000] ..... 1.0: gpio_direction: 512 out",
	} {
		if _, err := parseTrace(strings.NewReader(line + "\n")); err == nil {
			t.Errorf("%q: no error", line)
		}
	}
}

func FuzzParseTrace(f *testing.F) {
	f.Add(sampleTrace)
	f.Add("x gpio_value: 1 set 1\n")
	f.Fuzz(func(t *testing.T, s string) {
		evs, err := parseTrace(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, e := range evs {
			switch e.Kind {
			case "set", "in", "out", "mark":
			default:
				t.Fatalf("unknown kind %q", e.Kind)
			}
		}
	})
}
