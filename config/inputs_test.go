package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestInputsErrorsNameTheKey(t *testing.T) {
	tests := []struct{ name, yaml, key string }{
		{"no type", "inputs:\n  - device: /dev/x\n", "inputs[0].type"},
		{"bad type", "inputs:\n  - {type: keyboard, device: /dev/x}\n", "inputs[0].type"},
		{"no device", "inputs:\n  - {type: hid}\n", "inputs[0].device"},
		{"relative device", "inputs:\n  - {type: serial, device: ttyACM0}\n", "inputs[0].device"},
		{"bad name", "inputs:\n  - {type: hid, name: Front Door, device: /dev/x}\n", "inputs[0].name"},
		{"same name twice", "inputs:\n  - {type: hid, device: /dev/x}\n  - {type: hid, device: /dev/y}\n", "inputs[1].name"},
		{"two cameras", "inputs:\n  - {type: camera}\n  - {type: camera, name: cam2}\n", "inputs[1].type"},
		{"camera with rearm", "inputs:\n  - {type: camera, rearm: 1s}\n", "inputs[0].type"},
		{"camera bad device", "inputs:\n  - {type: camera, device: webcam}\n", "inputs[0].device"},
		{"hid terminator", "inputs:\n  - {type: hid, device: /dev/x, terminator: cr}\n", "inputs[0].terminator"},
		{"serial terminator", "inputs:\n  - {type: serial, device: /dev/x, terminator: enter}\n", "inputs[0].terminator"},
		{"baud on hid", "inputs:\n  - {type: hid, device: /dev/x, baud: 9600}\n", "inputs[0].baud"},
		{"key timeout on serial", "inputs:\n  - {type: serial, device: /dev/x, key_timeout: 1s}\n", "inputs[0].key_timeout"},
		{"trigger on hid", "inputs:\n  - {type: hid, device: /dev/x, trigger: T}\n", "inputs[0].trigger"},
		{"bad baud", "inputs:\n  - {type: serial, device: /dev/x, baud: 10}\n", "inputs[0].baud"},
		{"bad data bits", "inputs:\n  - {type: serial, device: /dev/x, data_bits: 5}\n", "inputs[0].data_bits"},
		{"bad parity", "inputs:\n  - {type: serial, device: /dev/x, parity: mark}\n", "inputs[0].parity"},
		{"bad stop bits", "inputs:\n  - {type: serial, device: /dev/x, stop_bits: 3}\n", "inputs[0].stop_bits"},
		{"long trigger", "inputs:\n  - {type: serial, device: /dev/x, trigger: " + strings.Repeat("T", 65) + "}\n", "inputs[0].trigger"},
		{"tiny trigger interval", "inputs:\n  - {type: serial, device: /dev/x, trigger_interval: 1ms}\n", "inputs[0].trigger_interval"},
		{"key timeout too long", "inputs:\n  - {type: hid, device: /dev/x, key_timeout: 1m}\n", "inputs[0].key_timeout"},
		{"negative rearm", "inputs:\n  - {type: hid, device: /dev/x, rearm: -1s}\n", "inputs[0].rearm"},
		{"unknown key", "inputs:\n  - {type: hid, device: /dev/x, layout: de}\n", "layout"},
		{"not a list", "inputs:\n  type: hid\n", "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse accepted %q", tt.yaml)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name %q", err, tt.key)
			}
		})
	}
}

func TestInputsDefaults(t *testing.T) {
	// No inputs: the camera alone, as before inputs: existed.
	c, err := Parse([]byte("camera:\n  source: /dev/video2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if in := c.Inputs(); len(in) != 1 || in[0] != (ScanInput{Name: "camera", Type: "camera", Device: "/dev/video2"}) {
		t.Errorf("Inputs() = %+v, want the camera alone", in)
	}
	c, err = Parse([]byte(`inputs:
  - type: camera
    device: /dev/video1
  - type: hid
    device: /dev/input/by-id/usb-Scanner-event-kbd
  - name: door-uart
    type: serial
    device: /dev/serial0
    baud: 115200
    parity: even
    data_bits: 7
    terminator: crlf
    trigger: "\x16T\r"
`))
	if err != nil {
		t.Fatal(err)
	}
	in := c.Inputs()
	if len(in) != 3 {
		t.Fatalf("Inputs() = %+v", in)
	}
	if in[0].Name != "camera" || c.Camera.Source != "/dev/video1" {
		t.Errorf("camera input %+v, camera.source %q: the input's device is the camera's source", in[0], c.Camera.Source)
	}
	want := ScanInput{Name: "hid", Type: "hid", Device: "/dev/input/by-id/usb-Scanner-event-kbd", Rearm: 2 * time.Second,
		Terminator: "enter", KeyTimeout: 200 * time.Millisecond}
	if in[1] != want {
		t.Errorf("hid input %+v, want %+v", in[1], want)
	}
	want = ScanInput{Name: "door-uart", Type: "serial", Device: "/dev/serial0", Rearm: 2 * time.Second, Terminator: "crlf",
		Baud: 115200, DataBits: 7, Parity: "even", StopBits: 1, Trigger: "\x16T\r", TriggerInterval: 3 * time.Second}
	if in[2] != want {
		t.Errorf("serial input %+v, want %+v", in[2], want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("a validated config fails validation again: %v", err)
	}
	if _, ok := c.CameraInput(); !ok {
		t.Error("no camera input")
	}
	// Scanners only: no camera.
	c, err = Parse([]byte("inputs:\n  - {type: serial, device: /dev/ttyACM0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.CameraInput(); ok {
		t.Error("a scanner-only kiosk has a camera input")
	}
}

func TestCameraInputDeviceFollowsTheFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "k.yaml")
	os.WriteFile(p, []byte("inputs:\n  - {type: camera, device: \"dir:frames\"}\n  - {type: hid, device: /dev/input/event3}\n"), 0o600)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := "dir:" + filepath.Join(dir, "frames")
	if c.Camera.Source != want || c.Inputs()[0].Device != want {
		t.Errorf("camera.source %q, input device %q; want %q", c.Camera.Source, c.Inputs()[0].Device, want)
	}
}

// The commented inputs: example in the shipped config parses once
// uncommented, so an installer can start from it.
func TestShippedInputsExampleParses(t *testing.T) {
	b, err := os.ReadFile("../configs/kioskd.yaml")
	if err != nil {
		t.Skip(err)
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
	c, err := Parse([]byte(strings.Join(block, "\n")))
	if err != nil {
		t.Fatalf("the example does not parse: %v\n%s", err, strings.Join(block, "\n"))
	}
	if n := len(c.Inputs()); n != 3 || c.Inputs()[2].Trigger != "\x16T\r" {
		t.Errorf("example: %+v", c.Inputs())
	}
}
