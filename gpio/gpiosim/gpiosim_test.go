package gpiosim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestOutputRecordsTransitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var notified []Transition
		r := NewRecorder(func(tr Transition) { notified = append(notified, tr) })
		o, err := r.RequestOutput("GPIO17", "relay", true, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.RequestOutput("GPIO17", "relay", true, true); !errors.Is(err, ErrBusy) {
			t.Errorf("second request = %v, want ErrBusy", err)
		}
		time.Sleep(time.Second)
		o.Set(false)
		o.Set(false) // no change on the wire: not recorded
		time.Sleep(3 * time.Second)
		o.Set(true)
		o.Close()
		if err := o.Set(false); !errors.Is(err, ErrClosed) {
			t.Errorf("Set after Close = %v, want ErrClosed", err)
		}
		trs := r.Of("GPIO17")
		if len(trs) != 3 || len(notified) != 3 {
			t.Fatalf("transitions = %v (notified %d), want 3", trs, len(notified))
		}
		if !trs[0].Initial || trs[0].Active || !trs[0].Level {
			t.Errorf("initial = %+v, want high = inactive (active-low)", trs[0])
		}
		if !trs[1].Active || trs[2].Held != 3*time.Second {
			t.Errorf("transitions = %+v", trs)
		}
		if s := trs[2].String(); !strings.HasSuffix(s, "relay (GPIO17) OFF after 3.0s") {
			t.Errorf("String = %q", s)
		}
		if r.Requested("GPIO17") {
			t.Error("still requested after Close")
		}
		if high, ok := r.Level("GPIO17"); !ok || !high {
			t.Error("a released line keeps its last level")
		}
	})
}

func TestInputBiasAndEdges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := NewRecorder(nil)
		in, err := r.RequestInput("GPIO23", BiasPullUp)
		if err != nil {
			t.Fatal(err)
		}
		if high, _ := in.Read(); !high {
			t.Error("pulled-up input reads low")
		}
		edge, err := in.Wait(t.Context(), time.Second)
		if edge || err != nil {
			t.Errorf("Wait without a change = %v, %v", edge, err)
		}
		r.SetInput("GPIO23", false)
		r.SetInput("GPIO23", true)
		r.SetInput("GPIO23", false) // edges coalesce; Read gives the latest
		if edge, _ := in.Wait(t.Context(), 0); !edge {
			t.Error("no edge after SetInput")
		}
		if high, _ := in.Read(); high {
			t.Error("Read after SetInput(false) = high")
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := in.Wait(ctx, 0); !errors.Is(err, context.Canceled) {
			t.Errorf("Wait on a cancelled context = %v", err)
		}
		in.Close()
		if _, err := in.Read(); !errors.Is(err, ErrClosed) {
			t.Errorf("Read after Close = %v", err)
		}
	})
}
