package registry

import (
	"strings"
	"testing"
)

func TestSet(t *testing.T) {
	s := New[int]("input kind")
	s.Register("camera", 1)
	s.Register("hid", 2)
	if v, err := s.Lookup("hid"); err != nil || v != 2 {
		t.Fatalf("Lookup(hid) = %v, %v", v, err)
	}
	_, err := s.Lookup("serial")
	if err == nil || !strings.Contains(err.Error(), `unknown input kind "serial" (this kioskd has: camera, hid)`) {
		t.Fatalf("Lookup(serial) error = %v", err)
	}
	if got := strings.Join(s.Names(), ","); got != "camera,hid" {
		t.Fatalf("Names = %s", got)
	}
}

func TestRegisterPanics(t *testing.T) {
	for _, tc := range []struct{ name, first, second string }{
		{"duplicate", "camera", "camera"},
		{"empty", "camera", ""},
		{"spaces", "camera", " hid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New[int]("input kind")
			s.Register(tc.first, 1)
			defer func() {
				if recover() == nil {
					t.Fatalf("registering %q after %q did not panic", tc.second, tc.first)
				}
			}()
			s.Register(tc.second, 2)
		})
	}
}
