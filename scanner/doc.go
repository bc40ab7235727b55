// Package scanner turns camera frames into kiosk codes: capture (V4L2 or a
// replay of image files), QR decoding with gozxing, the payload rule (a code
// is exactly 64 hex characters, or the same in a URL's ?code=) and presence
// tracking, so that a code held in view is reported once per presentation.
//
// # The model
//
// A Source delivers Frames: the luminance plane of the newest camera image,
// valid only during the callback. Frames that arrive while the callback runs
// are dropped, never queued, so a slow decode never shows an old picture;
// they leave a gap in Frame.Seq, which the pipeline counts.
// Open picks the source from Camera.Source:
//
//   - /dev/videoN: V4L2 through github.com/blackjack/webcam, GREY or YUYV
//     (luminance fed without copying or with one de-interleaving pass into a
//     reused buffer) or MJPEG (decoded with image/jpeg). Few buffers, frames
//     taken with GetFrame and handed back with ReleaseFrame after decoding.
//     A camera that cannot be opened, vanishes (ENODEV) or stalls is reported
//     through SourceOptions.OnState, closed, and reopened with a capped
//     backoff: the daemon never restarts for it.
//   - dir:PATH, file:PATH: image files (PGM, PNG, JPEG, GIF) replayed at
//     camera.fps, looping if camera.loop; for tests, demos and installers.
//
// A Decoder finds a QR code in a frame. Most frames hold no code, so the
// decoder is built to reject those cheaply: one local-threshold binarization
// and a scan for three finder-pattern-like places laid out like a code's
// corners, in both polarities; gozxing's QR reader runs only when that scan
// finds them (on the inverted bitmap for light-on-dark phone screens, which
// gozxing alone never reads): first on the window around that triple (its
// detector placed on the triple's centres, then its own finder scan), then
// our own grid sampling from it (grid.go), then the whole frame. Frames
// that pass but fail get further passes (gozxing's binarizers, a
// low-contrast threshold, half resolution, the region where a code was
// last seen). A frame with sensor noise (a cheap
// camera in dim light) is smoothed first and binarized with a contrast
// floor that grows with the noise, and its finder scan is stricter, so that
// an empty noisy scene stays as cheap as a clean one (denoise.go). The
// loops that touch every pixel (smoothing, block statistics, thresholding)
// are kernels (kernels.go) with SSE2 and NEON versions on amd64 and arm64,
// held bit for bit to a portable one (-tags purego). When the
// smoothed frame looks like a code but its first reads fail, the frame as
// captured gets its cheap reads before the smoothed one's costly passes. On a
// camera stream a frame's reads are capped and the next frame resumes the
// passes, so a code-like frame that is not read stays cheap too. When no
// code is read, Decoder.Hint says why in plain words (too dark, too far,
// hold still). A Decoder keeps its buffers between frames and is not safe
// for concurrent use: one per pipeline.
//
// ParsePayload applies the payload rule to decoded text and returns the
// code in lower case, or ErrNotACode. Presence turns a stream of decoded
// codes into one verdict per presentation; it keeps only SHA-256 digests.
//
// Codes are secrets at the door: nothing in this package logs one.
//
// ListCameras and Snapshot serve installers (`kioskd camera list`,
// `kioskd camera snapshot`); DecodeImage serves `kioskd decode`.
package scanner
