package assembly

import (
	"os"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/config"
)

// The commented inputs: example in the shipped config parses and passes the
// kinds' checks once uncommented, so an installer can start from it; a bad
// key of a scanner kind is refused at load naming the entry and the key.
func TestScannerInputsConfig(t *testing.T) {
	b, err := os.ReadFile("../configs/kioskd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var block []string
	in := false
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "# inputs:") {
			in = true
		} else if in && !strings.HasPrefix(l, "#   ") {
			break
		}
		if in {
			l = strings.TrimPrefix(l, "# ")
			l = strings.Replace(l, "# trigger", "trigger", 1) // the optional keys too
			block = append(block, l)
		}
	}
	if len(block) < 3 {
		t.Fatal("no inputs: example in configs/kioskd.yaml")
	}
	example := strings.Join(block, "\n") + "\n"
	cfg, err := config.Parse([]byte(example))
	if err == nil {
		err = Check(&cfg)
	}
	if err != nil {
		t.Fatalf("the example: %v\n%s", err, example)
	}
	if len(cfg.Inputs) != 2 || cfg.Inputs[0].Kind != "hid" || cfg.Inputs[1].Kind != "serial" {
		t.Errorf("example inputs %+v", cfg.Inputs)
	}
	for _, tt := range []struct{ yaml, want string }{
		{"inputs:\n  - {kind: serial, name: door, device: /dev/serial0, parity: mark}\n", "inputs[0] (door, line 2): parity"},
		{"inputs:\n  - {kind: hid, device: /dev/input/event3, baud: 9600}\n", "inputs[0] (hid, line 2): field baud not found"},
		{"inputs:\n  - {kind: hid}\n", "inputs[0] (hid, line 2): device"},
		{"inputs:\n  - {kind: keyboard, device: /dev/x}\n", "inputs[0].kind"},
	} {
		cfg, err := config.Parse([]byte(tt.yaml))
		if err == nil {
			err = Check(&cfg)
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want an error with %q", tt.yaml, err, tt.want)
		}
	}
}
