package main

import (
	"testing"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

// The configurations the guest writes for kioskd parse with kioskd's own
// strict parser, so a renamed key fails here in seconds rather than as a
// kioskd that exits at start-up minutes into the VM run; the scanner
// session's has the camera and the hid input it means.
func TestSessionConfigsParse(t *testing.T) {
	srv := bbtest.NewServer(bbtest.Options{ClientID: "hwtest-kiosk"})
	defer srv.Close()
	for _, tc := range []struct {
		name string
		s    *session
		want []config.ScanInput
	}{
		{"camera", &session{}, []config.ScanInput{{Name: "camera", Type: "camera", Device: videoDev}}},
		{"active-low", &session{relayLow: true}, []config.ScanInput{{Name: "camera", Type: "camera", Device: videoDev}}},
		{"scanner", &session{scan: &scanner{}}, []config.ScanInput{
			{Name: "camera", Type: "camera", Device: videoDev},
			{Name: "door-scanner", Type: "hid", Device: scannerLink, Terminator: "enter", KeyTimeout: keyTimeout, Rearm: rearm},
		}},
		{"scanner only", &session{scan: &scanner{}, scanOnly: true}, []config.ScanInput{
			{Name: "door-scanner", Type: "hid", Device: scannerLink, Terminator: "enter", KeyTimeout: keyTimeout, Rearm: rearm},
		}},
	} {
		tc.s.dir, tc.s.srv = t.TempDir(), srv
		cfg, err := config.Parse([]byte(tc.s.config()))
		if err != nil {
			t.Errorf("%s: %v\n%s", tc.name, err, tc.s.config())
			continue
		}
		got := cfg.Inputs()
		if len(got) != len(tc.want) {
			t.Errorf("%s: inputs %+v, want %+v", tc.name, got, tc.want)
			continue
		}
		for i, w := range tc.want {
			g := got[i]
			if g.Name != w.Name || g.Type != w.Type || g.Device != w.Device || g.Terminator != w.Terminator ||
				g.KeyTimeout != w.KeyTimeout || (w.Rearm != 0 && g.Rearm != w.Rearm) {
				t.Errorf("%s: input %d = %+v, want %+v", tc.name, i, g, w)
			}
		}
	}
}
