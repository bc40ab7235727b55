package scanner

import (
	"context"
	"time"
)

// Frame is one camera image's luminance plane: Width×Height bytes, rows
// Stride bytes apart. Y is owned by the Source and is valid only until the
// callback that received the frame returns: copy what must outlive it.
type Frame struct {
	Y      []byte
	Width  int
	Height int
	Stride int
	// Seq counts the frames the source took, from 1; a gap is frames
	// dropped unseen because the consumer was busy.
	Seq uint64
	// Time is when the frame was captured (a V4L2 camera: when its buffer was
	// dequeued; a replay: its slot in the schedule), not when decoding began:
	// verdict latency is measured from it.
	Time time.Time
}

// Source is where frames come from: a camera or a replay of images.
//
// Run calls fn for each frame, always the newest one: frames that arrive
// while fn runs are dropped, never queued. Run returns when ctx ends (with
// nil), when a replay source is exhausted (with nil), or with an error that
// cannot be retried. A camera that goes away is not such an error: Run
// reports it through the state callback given at construction, retries
// with backoff and resumes when the device is back.
type Source interface {
	Run(ctx context.Context, fn func(Frame)) error
	// Describe says what the source actually is, e.g. "/dev/video0 YUYV 640x480 @30fps".
	Describe() string
}

// State is the health of a Source, reported on every change.
type State struct {
	Up     bool
	Detail string // what the driver set, or the fault
	Err    error
}
