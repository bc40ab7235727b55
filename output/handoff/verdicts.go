package handoff

import (
	"strings"

	"github.com/kioskd/kioskd/verify"
)

// The methods below make a Hub what an assembler's output registry expects
// of an output: it hears verdicts (Verdict, at once, on the lane), says what
// it is (Describe), has work of its own (Run) and health of its own
// (Problems).

// Verdict hands one verdict over (see Hand); it returns at once.
func (h *Hub) Verdict(v verify.Verdict) {
	if h == nil {
		return
	}
	h.Hand(FromVerdict(h.o.Kiosk, inputOf(v, h.o.Input), v))
}

// inputOf names where a verdict's code was read: the lane's own name (a
// scanner input's, "desk") when the verdict carries one, else the hub's,
// else the camera's.
func inputOf(v verify.Verdict, hub string) string {
	switch {
	case v.Input != "":
		return v.Input
	case hub != "":
		return hub
	}
	return InputCamera
}

// Describe names the hub's outputs and where they deliver.
func (h *Hub) Describe() string {
	var parts []string
	for _, o := range h.outs {
		parts = append(parts, o.Kind+" "+o.Name+" to "+o.Target)
	}
	return strings.Join(parts, ", ")
}

// Problems are the status lines of failing or slow receivers. They never
// make the kiosk unhealthy: the door works without them.
func (h *Hub) Problems() (lines []string, unhealthy bool) {
	now := h.o.Now()
	for _, s := range h.Status() {
		if p := s.Problem(now); p != "" {
			lines = append(lines, p)
		}
	}
	return lines, false
}
