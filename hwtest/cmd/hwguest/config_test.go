package main

import (
	"testing"

	"github.com/kioskd/kioskd/assembly"
	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/input/hid"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

// The configurations the guest writes for kioskd pass kioskd's own strict
// parser and the assembler's check of the plug-in kinds (as `kioskd run`
// does at start), so a renamed key fails here in a second rather than as a
// kioskd that exits at start-up minutes into the VM run; the scanner
// sessions have the camera source and the hid input they mean.
func TestSessionConfigsParse(t *testing.T) {
	srv := bbtest.NewServer(bbtest.Options{ClientID: "hwtest-kiosk"})
	defer srv.Close()
	scannerInput := hid.Config{Device: scannerLink, Terminator: "enter", KeyTimeout: keyTimeout}
	for _, tc := range []struct {
		name   string
		s      *session
		camera string
		hid    []hid.Config
	}{
		{"camera", &session{}, videoDev, nil},
		{"active-low", &session{relayLow: true}, videoDev, nil},
		{"camera and scanner", &session{scan: &scanner{}}, videoDev, []hid.Config{scannerInput}},
		{"scanner only", &session{scan: &scanner{}, scanOnly: true}, config.CameraNone, []hid.Config{scannerInput}},
	} {
		tc.s.dir, tc.s.srv = t.TempDir(), srv
		cfg, err := config.Parse([]byte(tc.s.config()))
		if err == nil {
			err = assembly.Check(&cfg)
		}
		if err != nil {
			t.Errorf("%s: %v\n%s", tc.name, err, tc.s.config())
			continue
		}
		if cfg.Camera.Source != tc.camera {
			t.Errorf("%s: camera.source %q, want %q", tc.name, cfg.Camera.Source, tc.camera)
		}
		if cfg.Camera.Rearm != rearm {
			t.Errorf("%s: camera.rearm %v, want %v (the scanner's rearm too)", tc.name, cfg.Camera.Rearm, rearm)
		}
		var got []hid.Config
		for _, p := range cfg.Inputs {
			if p.Kind != hid.KindName || p.Name != "door-scanner" {
				t.Errorf("%s: input %q of kind %q", tc.name, p.Name, p.Kind)
				continue
			}
			var c hid.Config
			if err := p.Decode(&c); err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			got = append(got, c)
		}
		if len(got) != len(tc.hid) || (len(got) == 1 && got[0] != tc.hid[0]) {
			t.Errorf("%s: hid inputs %+v, want %+v", tc.name, got, tc.hid)
		}
	}
}
