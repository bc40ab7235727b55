package main

import "context"

// readyHook lets cmdRun's reload loop hear that a generation finished its
// start-up: a reloaded configuration that fails before then is replaced by
// the previous one instead of ending the daemon.
type readyHook struct{}

func withReadyHook(ctx context.Context, fn func()) context.Context {
	return context.WithValue(ctx, readyHook{}, fn)
}

// generationReady calls the hook of withReadyHook, if any.
func generationReady(ctx context.Context) {
	if fn, ok := ctx.Value(readyHook{}).(func()); ok {
		fn()
	}
}

// closed reports whether ch is closed (false for nil). The reload loop's
// select may take a generation's end before its earlier ready signal.
func closed(ch <-chan struct{}) bool {
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
