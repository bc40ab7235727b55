package assembly

import (
	"reflect"
	"testing"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/verify"
)

// TestOptionsFollowTheConfig: the parts' own options are what the config
// says, field for field; a field added to one side and not mapped fails here.
func TestOptionsFollowTheConfig(t *testing.T) {
	if got, want := PolicyOptions(config.Default().Policy), verify.DefaultPolicy(); got != want {
		t.Errorf("default policy %+v, verify's default %+v", got, want)
	}
	cfg, err := config.Parse([]byte(`
bitbadges: {client_id: c}
policy: {reuse: cooldown, cooldown: 1h, valid_from: "2026-12-01T00:00:00Z", valid_until: "2026-12-31T00:00:00Z",
  max_cache_age: 2h, stale_cache: reject, untrusted_clock: reject, clock_tolerance: 1m, anti_passback: true}
access:
  match: any
  stale_owners: warn
  max_owners_age: 3h
  require:
    - {name: Member, collection_id: "7", token_ids: [1-10, 12], min_amount: 2}
gpio:
  driver: sim
  chip: gpiochip4
  relay: {line: GPIO17, active_low: true, pulse: 2s, fail_mode: safe}
  accept_led: {line: GPIO27}
  exit_button: {line: GPIO23, active_low: true, pull: up, debounce: 30ms}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		from, got any
	}{
		{"policy", cfg.Policy, PolicyOptions(cfg.Policy)},
		{"access", cfg.Access, AccessOptions(cfg.Access)},
		{"gpio", cfg.GPIO, GPIOConfig(cfg.GPIO)},
		{"camera", cfg.Camera, CameraOptions(cfg.Camera)},
	} {
		if n := countSet(reflect.ValueOf(c.from)); n != countSet(reflect.ValueOf(c.got)) {
			t.Errorf("%s: %d fields set in the config, %d in %+v", c.name, n, countSet(reflect.ValueOf(c.got)), c.got)
		}
	}
	if got, want := Requirements(cfg.Access.Require)[0].Key(), cfg.Access.Require[0].Key(); got != want {
		t.Errorf("requirement key %q, the config's %q (the store holds owners by it)", got, want)
	}
}

// countSet counts the non-zero leaf values of v (struct fields, pointed-to
// structs, slice elements), skipping camera.rearm, which is the lane's.
func countSet(v reflect.Value) int {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return 0
		}
		return countSet(v.Elem())
	case reflect.Struct:
		n := 0
		for i := range v.NumField() {
			if !v.Type().Field(i).IsExported() || v.Type().Field(i).Name == "Rearm" {
				continue
			}
			n += countSet(v.Field(i))
		}
		return n
	case reflect.Slice:
		n := 0
		for i := range v.Len() {
			n += countSet(v.Index(i))
		}
		return n
	case reflect.Map:
		return v.Len()
	}
	if v.IsZero() {
		return 0
	}
	return 1
}
