package demo

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

// The hand-off scene prints what the till received, signed and checked,
// with the holder's address and never the code or its hash.
func TestHandoffScene(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	code := strings.Repeat("c0", 32)
	at := time.Date(2026, 12, 3, 14, 2, 0, 0, time.UTC)
	vs := []verify.Verdict{
		{Accept: true, Reason: verify.OK, Hash: store.HashCode(code), Name: "Demo guest", Address: "0xabc", Holder: "bb1demo", At: at},
		{Reason: verify.AlreadyUsed, Hash: store.HashCode(code), Name: "Demo guest", Address: "0xabc", Holder: "bb1demo", At: at},
		{Reason: verify.NotACode, At: at},
	}
	var out bytes.Buffer
	p := &printer{w: &out, start: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := handoffScene(ctx, p, "demo-door", st, vs, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(got) != 3 || got[0].Verdict != "accept" || got[1].Reason != "already-used" || got[2].Holder != nil ||
		got[0].Holder == nil || got[0].Holder.BitBadgesAddress != "bb1demo" {
		t.Fatalf("the till got %+v", got)
	}
	s := out.String()
	if strings.Count(s, "signature ok") != 3 || !strings.Contains(s, `"bitbadges_address":"bb1demo"`) {
		t.Fatalf("output:\n%s", s)
	}
	if strings.Contains(s, code) || strings.Contains(s, store.HashCode(code)) {
		t.Fatalf("the code or its hash was printed:\n%s", s)
	}
	if q, _ := st.HandoffQueueOf("till"); q.Queued != 0 {
		t.Fatalf("%d left in the queue", q.Queued)
	}
}
