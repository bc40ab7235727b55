package store

import (
	"fmt"
	"testing"
)

func handoffBodies(t *testing.T, st *Store, output string) []string {
	t.Helper()
	items, err := st.HandoffPeek(output, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		if it.Output != output {
			t.Fatalf("peek of %s returned an item of %s", output, it.Output)
		}
		out = append(out, string(it.Body))
	}
	return out
}

func TestHandoffQueue(t *testing.T) {
	st, path := openTest(t, Options{})
	if qs, err := st.HandoffQueues(); err != nil || len(qs) != 0 {
		t.Fatalf("fresh store: queues %v, %v", qs, err)
	}
	if err := st.HandoffAppend([]HandoffItem{{Output: "till", Body: []byte("a"), Max: 3}, {Output: "mqtt", Body: []byte("a"), Max: 3},
		{Output: "till", Body: []byte("b"), Max: 3}}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(handoffBodies(t, st, "till")); got != "[a b]" {
		t.Fatalf("till queue %s", got)
	}
	// Full: the oldest goes, counted; the other queue is untouched.
	for _, b := range []string{"c", "d", "e"} {
		if err := st.HandoffAppend([]HandoffItem{{Output: "till", Body: []byte(b), Max: 3}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(handoffBodies(t, st, "till")); got != "[c d e]" {
		t.Fatalf("till queue after overflow %s", got)
	}
	q, err := st.HandoffQueueOf("till")
	if err != nil || q.Queued != 3 || q.Dropped != 2 {
		t.Fatalf("till: %+v %v, want 3 queued 2 dropped", q, err)
	}

	items, _ := st.HandoffPeek("till", 2)
	if len(items) != 2 {
		t.Fatalf("peek 2 = %d items", len(items))
	}
	if err := st.HandoffRemove("till", items[0].Seq, items[0].Seq, 9999); err != nil {
		t.Fatal(err)
	}
	// The queue and its counters survive a restart.
	st = reopen(t, st, path, Options{})
	if got := fmt.Sprint(handoffBodies(t, st, "till")); got != "[d e]" {
		t.Fatalf("till queue after remove and reopen %s", got)
	}
	qs, err := st.HandoffQueues()
	if err != nil || fmt.Sprint(qs) != "[{mqtt 1 0} {till 2 2}]" {
		t.Fatalf("queues %v %v", qs, err)
	}
	// Sequences keep growing after a reopen: a new message goes last.
	if err := st.HandoffAppend([]HandoffItem{{Output: "till", Body: []byte("f"), Max: 3}}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(handoffBodies(t, st, "till")); got != "[d e f]" {
		t.Fatalf("till queue after reopen and append %s", got)
	}
	if n, err := st.HandoffDrop("till"); err != nil || n != 3 {
		t.Fatalf("drop = %d, %v", n, err)
	}
	if q, _ := st.HandoffQueueOf("till"); q.Queued != 0 || q.Dropped != 0 {
		t.Fatalf("after drop: %+v", q)
	}
	if n, err := st.HandoffDrop("nothing"); err != nil || n != 0 {
		t.Fatalf("drop of an unknown queue = %d, %v", n, err)
	}
}

func TestHandoffAppendRefuses(t *testing.T) {
	st, _ := openTest(t, Options{})
	if err := st.HandoffAppend([]HandoffItem{{Output: "x", Body: []byte("a"), Max: 0}}); err == nil {
		t.Fatal("a bound of 0 was accepted")
	}
	if err := st.HandoffAppend([]HandoffItem{{Body: []byte("a"), Max: 10}}); err == nil {
		t.Fatal("an item without an output was accepted")
	}
}

// The hand-off queues are checked and recovered like the rest of the file.
func TestHandoffRecovered(t *testing.T) {
	st, path := openTest(t, Options{})
	if err := st.HandoffAppend([]HandoffItem{{Output: "till", Body: []byte(`{"id":"1"}`), Max: 10}, {Output: "till", Body: []byte(`{"id":"2"}`), Max: 10}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if rep, err := Check(path, Options{}); err != nil || !rep.Healthy() {
		t.Fatalf("check: %+v %v", rep, err)
	}
	if _, err := Recover(path, Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	st2, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if got := fmt.Sprint(handoffBodies(t, st2, "till")); got != `[{"id":"1"} {"id":"2"}]` {
		t.Fatalf("recovered queue %s", got)
	}
	if err := st2.HandoffAppend([]HandoffItem{{Output: "till", Body: []byte("3"), Max: 10}}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(handoffBodies(t, st2, "till")); got != `[{"id":"1"} {"id":"2"} 3]` {
		t.Fatalf("after recovery a new message must go last: %s", got)
	}
}
