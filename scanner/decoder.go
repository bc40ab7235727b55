package scanner

import (
	"image"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// DecoderOptions tune a Decoder. The zero value is what the daemon uses.
type DecoderOptions struct {
	// NoInverted skips the pass for light-on-dark codes (dark-mode phones).
	NoInverted bool
	// Plain stops after the first pass of each polarity: the baseline the
	// extra passes are measured against.
	Plain bool
	// Exhaustive runs every pass even when nothing in the frame looks like
	// a finder pattern: slower on empty frames, for still images where a
	// missed code costs more than time.
	Exhaustive bool
}

// Pass names the way a code was found, for statistics and tests.
type Pass uint8

const (
	PassNone        Pass = iota
	PassLocal            // our block-mean binarizer on the full frame
	PassHybrid           // gozxing's HybridBinarizer
	PassGlobal           // gozxing's GlobalHistogramBinarizer
	PassLowContrast      // our binarizer, tuned for faint codes
	PassHalf             // half resolution (large, blurred or noisy codes)
	PassROI              // the region where a code was last seen, enlarged
	PassSharpen          // our binarizer after an unsharp mask (blur)
	PassTrack            // the previous frame's code region, before the full frame
	PassGrid             // our own grid sampling from the gate's finder patterns (grid.go)
	numPasses
)

var passNames = [numPasses]string{"none", "local", "hybrid", "global", "low-contrast", "half", "roi", "sharpen", "track", "grid"}

func (p Pass) String() string {
	if p < numPasses {
		return passNames[p]
	}
	return "unknown"
}

// DecoderStats counts what a Decoder did: frames seen, frames the finder
// gate let through to gozxing, and codes found per pass (inverted ones also
// in Inverted).
type DecoderStats struct {
	Frames   uint64
	Gated    uint64
	Busy     uint64 // frames too busy for a full-frame read in a polarity that passed the gate
	Reads    uint64 // runs of gozxing's QR reader
	Found    [numPasses]uint64
	Inverted uint64
}

// Decoder finds a QR code in a frame. It keeps its buffers from one frame to
// the next, so that a frame without a code costs one binarization and one
// scan for finder patterns, and allocates nothing once the first frame of a
// size has been seen; gozxing itself allocates when it runs on a frame that
// looks like it holds a code.
//
// The passes, cheapest first, each stopping at the first code found:
//  1. our block-mean binarizer on the full frame, then a scan of its rows
//     for finder-pattern-like runs (1:1:3:1:1, confirmed down the column)
//     in either polarity; gozxing's QR reader runs only for a polarity with
//     three such places laid out like a code's corners (the light-centred
//     polarity on the inverted bitmap: dark-mode screens), the polarity with
//     more places first, without TRY_HARDER: first only the window around
//     the triple whose places showed on the most rows, then our grid pass
//     (grid.go: the gate's finder triple, sampled on the grey image; it
//     reads most of what the window misses, for less than gozxing), then
//     the whole frame;
//  2. for a polarity that passed the gate but failed: the
//     same bitmap with TRY_HARDER, gozxing's HybridBinarizer and
//     GlobalHistogramBinarizer, our binarizer after an unsharp mask (blur),
//     and with a low contrast floor (throttled when a scene keeps failing);
//  3. the frame at half resolution (2×2 box filter: noise, blur and codes
//     too large for the local windows) — only on frames where something
//     looked like a code at full resolution;
//  4. the region where a code was found in the last few frames, enlarged
//     twice (a code moving away or tilting).
//
// A noisy frame runs them on its smoothed copy (denoise.go); when that
// looked like a code but was not read, the frame as captured gets its
// cheap reads (1, without the grid pass) next, then the smoothed copy its
// costly ones (2, 3), then the frame as captured the rest (its grid pass
// first).
//
// Before all of them, when the previous frame held a code, its region alone
// (with a margin, at full resolution) is tried first: a code held up stays
// in view for many frames, and a crop of the frame costs a fraction of it.
// Whatever is there is read afresh; a miss falls through to the passes.
//
// On a camera stream (Seq > 0) a frame runs at most streamReads of
// gozxing's reads, and the next frame of a code-like scene resumes the
// passes where it stopped: a code-like frame that is not read costs a
// bounded time, not every pass. Stills run every pass.
//
// A Decoder is not safe for concurrent use: each pipeline owns one.
type Decoder struct {
	o      DecoderOptions
	reader gozxing.Reader
	hints  map[gozxing.DecodeHintType]interface{}
	full   binImage
	raw    binImage // a noisy frame's unsmoothed bitmap (full holds the smoothed one)
	half   binImage
	halfY  []byte
	sharpY []byte
	// smoothY holds the full frame smoothed (box3) when it is noisy,
	// trackY the tracking crop's; noisy is whether the last full frame was.
	smoothY, trackY []byte
	noisy           bool
	colSum          []int32
	roiBin          binImage
	roiY            []byte
	roi             image.Rectangle // in frame coordinates; empty when none
	roiTTL          int             // frames left to try the ROI
	track           binImage        // the tracking crop's buffers
	area            binImage        // the first read's window around the finder patterns
	held            bool            // the previous frame held a code
	inv             bool            // ... and it was light-on-dark
	stats           DecoderStats
	last            Pass
	misses          int // frames in a row that looked like a code but were not
	lastHint        Hint
	seen            int // the largest finder-like pattern of a code-like triple, this frame
	// The read budget of a stream frame (see streamReads): reads run this
	// frame, the index of the next costly read ("slot"), the first slot to
	// run this frame, and the slot where this frame's budget ran out (-1).
	stream                bool
	frameReads            int
	slot, slotFrom, cutAt int
	repass                bool // in the noisy frame's second (unsmoothed) set of passes
	throttled             bool // this frame runs no costly pass (see misses)
	counted               bool // this frame was counted in misses
	gridDone              bool // the smoothed bitmap's grid pass ran this frame
	grid                  grid // the grid pass's buffers
}

// streamReads bounds the gozxing reads of one stream frame (Seq > 0). A
// frame that looks like a code but is not read (damaged, too skewed, a
// finder-like background) would otherwise run every pass, smoothed and
// unsmoothed: 15-28 reads, 10-40 ms, several frame periods. The cheap
// first reads (the windows around the finder patterns, then the whole
// frame, per polarity) always run; the costly ones are numbered in the
// order they run, and a frame runs at most this many reads in all. The
// next frame of the same scene resumes at the first slot the last one did
// not reach, so a held code still gets every pass within a few frames.
// Stills (Seq 0) and Exhaustive run everything.
const streamReads = 8

// roiFrames is for how many frames after a decode the region is retried.
const roiFrames = 15

// gateMin is how many distinct finder-like places a polarity needs before
// gozxing runs on it: gozxing's own finder gives up with fewer than three.
const gateMin = 3

// minRange is the contrast (max-min in an 8×8 block) below which a block is
// taken as flat; lowRange is the floor of the low-contrast pass.
const (
	minRange = 24
	lowRange = 6
)

// NewDecoder returns a decoder with its options.
func NewDecoder(o DecoderOptions) *Decoder {
	return &Decoder{
		o:      o,
		reader: qrcode.NewQRCodeReader(),
		// TRY_HARDER makes gozxing's finder look at every row instead of
		// every third: the first read goes without, the later passes with.
		hints: map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true},
	}
}

// Stats returns the counters so far.
func (d *Decoder) Stats() DecoderStats { return d.stats }

// LastPass is the pass that found the last code, PassNone if the last frame
// had none.
func (d *Decoder) LastPass() Pass { return d.last }

// ForgetRegion drops the region where a code was last seen, e.g. between
// unrelated images.
func (d *Decoder) ForgetRegion() { d.roi, d.roiTTL, d.held = image.Rectangle{}, 0, false }

// Decode returns the text of a QR code in f, if it finds one. f.Y is only
// read during the call.
func (d *Decoder) Decode(f Frame) (text string, ok bool) {
	d.last, d.lastHint, d.seen = PassNone, HintNone, 0
	d.stream = f.Seq != 0 && !d.o.Exhaustive
	d.frameReads, d.slot, d.cutAt, d.repass, d.throttled = 0, 0, -1, false, false
	d.counted, d.gridDone = false, false
	p := plane{y: f.Y, w: f.Width, h: f.Height, stride: f.Stride}
	if !p.valid() || p.w < 21 || p.h < 21 {
		return "", false
	}
	d.stats.Frames++
	if d.roiTTL > 0 {
		d.roiTTL--
	}
	if d.held && !d.o.Plain {
		if text, ok = d.decodeTrack(p); ok {
			return text, true
		}
	}
	text, ok = d.decode(p, f.Seq)
	if !ok && d.roiTTL > 0 && !d.o.Plain {
		text, ok = d.decodeROI(p)
	}
	d.held = ok
	switch {
	case ok:
		// Read (even on a throttled frame, whose grid pass asked costly
		// before the whole-frame read): the next code-like frame starts over.
		d.slotFrom = 0
	case d.throttled:
		// Slots not counted this frame: the next one resumes as planned.
	case d.misses == 0:
		// Nothing code-like: the next code-like frame starts over.
		d.slotFrom = 0
	case d.cutAt >= 0:
		d.slotFrom = d.cutAt
	case d.slot > d.slotFrom:
		d.slotFrom = 0 // every slot tried: the next frame starts over
	}
	if !ok {
		d.lastHint = d.hintFor()
	}
	return text, ok
}

// spent reports whether this stream frame's read budget is used up, so
// that a pass need not prepare a bitmap it could not read; the next frame
// resumes at the first slot not reached.
func (d *Decoder) spent() bool {
	if !d.stream || d.frameReads < streamReads {
		return false
	}
	if d.cutAt < 0 && !d.throttled {
		d.cutAt = d.slot
	}
	return true
}

// readArea reads only the window of b around the finder patterns the gate
// found for a polarity: gozxing's finder then scans that, not the frame.
// A miss costs little, and the full-frame read follows.
func (d *Decoder) readArea(b *binImage, inv bool) (string, bool) {
	// Aligned to whole bytes of bits, as crop copies them.
	r, ok := window(b.area[b2i(inv)], b.w, b.h, 8)
	if !ok {
		return "", false
	}
	b.crop(r, &d.area)
	bmp := d.area.pack(inv)
	// gozxing's detector on the gate's finder centres first (readCentres);
	// not on a stream frame's second look at the raw bitmap, whose reads
	// are within the frame's read budget (see read), nor for Plain, which
	// is gozxing's own reader.
	if (!d.repass || !d.stream) && !d.o.Plain {
		if t, ok := d.readCentres(bmp, b.tri[b2i(inv)], r, inv); ok {
			return t, true
		}
	}
	return d.read(bmp, 1, 1, float64(r.Min.X), float64(r.Min.Y), PassLocal, inv, false)
}

// readCentres reads the window r (bmp) with gozxing's detector placed on
// the gate's own finder centres t instead of its finder scan: that scan is
// a tenth of a typical frame's time, and the gate's centres, to a pixel,
// serve its alignment search and sampling as well (camera corpus: 124 of
// the 125 codes the window read found, and 3 more on four fresh seed
// sets). It shares the window read's slot: it counts as the read when it
// decodes, and the full read follows when it does not.
func (d *Decoder) readCentres(bmp *gozxing.BinaryBitmap, t [3]cand, r image.Rectangle, inv bool) (text string, ok bool) {
	defer func() {
		// gozxing is a port and not hardened against every bitmap.
		if recover() != nil {
			text, ok = "", false
		}
	}()
	mat, err := bmp.GetBlackMatrix()
	if err != nil {
		return "", false
	}
	var fp [3]gozxing.ResultPoint
	for i, c := range t {
		// cand centres are pixel indices; gozxing's are pixel centres.
		fp[i] = detector.NewFinderPattern1(float64(c.x-r.Min.X)+0.5, float64(c.y-r.Min.Y)+0.5, float64(c.size)/7)
	}
	bl, tl, tr := gozxing.ResultPoint_OrderBestPatterns(fp[0], fp[1], fp[2])
	info := detector.NewFinderPatternInfo(bl.(*detector.FinderPattern), tl.(*detector.FinderPattern), tr.(*detector.FinderPattern))
	res, err := detector.NewDetector(mat).ProcessFinderPatternInfo(info)
	if err != nil {
		return "", false
	}
	if text, ok = d.grid.decode(res.GetBits()); ok {
		d.frameReads++
		d.stats.Reads++
		d.found(PassLocal, inv, res.GetPoints(), 1, 1, float64(r.Min.X), float64(r.Min.Y))
	}
	return text, ok
}

// windowStep rounds a window's size up, so that a code held with a shaking
// hand keeps one window size and the window's buffers are reused.
const windowStep = 64

// window is the part of a w×h frame to read for the region r: r grown to
// whole windowSteps around its centre, moved inside the frame, its left
// edge a multiple of alignX. It reports false when that is not worth it:
// r is empty, or the window would be over half the frame.
func window(r image.Rectangle, w, h, alignX int) (image.Rectangle, bool) {
	if r.Empty() {
		return image.Rectangle{}, false
	}
	ww := min((r.Dx()+alignX-1+windowStep-1)/windowStep*windowStep, w)
	wh := min((r.Dy()+windowStep-1)/windowStep*windowStep, h)
	if ww < 21 || wh < 21 || ww*wh > w*h/2 {
		return image.Rectangle{}, false
	}
	x0 := min(max(r.Min.X-(ww-r.Dx())/2, 0), w-ww) / alignX * alignX
	y0 := min(max(r.Min.Y-(wh-r.Dy())/2, 0), h-wh)
	return image.Rect(x0, y0, x0+ww, y0+wh), true
}

// decodeTrack reads the region of the previous frame's code, with the
// margin remember gave it, at full resolution and in the polarity it had.
func (d *Decoder) decodeTrack(p plane) (string, bool) {
	r, ok := window(d.roi, p.w, p.h, 1)
	if !ok {
		return "", false
	}
	crop := plane{y: p.y[r.Min.Y*p.stride+r.Min.X:], w: r.Dx(), h: r.Dy(), stride: p.stride}
	if d.noisy {
		crop = box3(crop, &d.trackY)
	}
	b := &d.track
	b.binarize(crop, minRange, d.noisy)
	b.strict = d.noisy
	dark, light := b.finderHits()
	if (d.inv && light < gateMin) || (!d.inv && dark < gateMin) || b.busy(b2i(d.inv)) {
		return "", false
	}
	return d.read(b.pack(d.inv), 1, 1, float64(r.Min.X), float64(r.Min.Y), PassTrack, d.inv, false)
}

func (d *Decoder) decode(p plane, seq uint64) (string, bool) {
	// A noisy frame is smoothed first and read with a noise-aware
	// binarizer (see denoise.go): that is what keeps an empty noisy scene
	// cheap. The frame as it is gets the passes too when the smoothed one
	// looked like a code but was not read: smoothing costs small modules
	// (its cheap reads before the smoothed copy's costly ones, below).
	q := d.full.quietRange(p)
	d.noisy = q >= noisyRange && q <= noisyMax
	if !d.noisy {
		return d.decodeOn(&d.full, p, p, false, seq)
	}
	sp := box3(p, &d.smoothY)
	// The grid pass runs inside the first reads, between the windows and
	// the whole-frame read (see firstReads).
	t, ok, g := d.firstReads(&d.full, sp, true, p, seq)
	if ok {
		return t, true
	}
	if !g.gated || d.spent() {
		return d.moreReads(&d.full, sp, p, true, seq, g)
	}
	// The frame as it is, its cheap reads first: where smoothing cost a
	// code its modules, the raw frame's first reads read it, and they cost
	// less than the smoothed frame's costly passes (on the camera corpus
	// they read as many codes: 13 against 15 of 280, at a fraction).
	d.repass = true
	t, ok, rg := d.firstReads(&d.raw, p, false, plane{}, seq)
	d.repass = false
	if ok {
		return t, true
	}
	if t, ok = d.moreReads(&d.full, sp, p, true, seq, g); ok || d.spent() {
		return t, ok
	}
	d.repass, d.gridDone = true, false // the raw bitmap's own grid pass
	t, ok = d.moreReads(&d.raw, p, p, false, seq, rg)
	d.repass = false
	return t, ok
}

// gateState is what a bitmap's finder scan let through: the polarities
// that passed the gate (all with Exhaustive), those not too busy for a
// full-frame read, and whether anything looked like a code.
type gateState struct {
	pols, full [2]bool
	gated      bool
}

// decodeOn runs every pass on p into b (raw: the frame as captured, for
// the half-resolution pass; smooth: p is the smoothed frame).
func (d *Decoder) decodeOn(b *binImage, p, raw plane, smooth bool, seq uint64) (string, bool) {
	t, ok, g := d.firstReads(b, p, smooth, raw, seq)
	if ok {
		return t, true
	}
	return d.moreReads(b, p, raw, smooth, seq, g)
}

// firstReads binarizes p into b, scans it for finder patterns and runs
// the cheap reads: the windows around the finder patterns, then the whole
// bitmap, for the polarities that passed the gate. With a valid raw (the
// frame as captured; p is its smoothed copy on a noisy frame, else raw
// itself) the grid pass runs between the two: on the camera corpus it
// reads four times the codes the whole-frame read does, at a fraction of
// its time, and a code read on the first frame of a stream must not wait
// for the next frame's budget. The raw copy of a noisy frame is given
// none: its grid pass stays among its costly passes.
func (d *Decoder) firstReads(b *binImage, p plane, smooth bool, raw plane, seq uint64) (text string, ok bool, g gateState) {
	b.binarize(p, minRange, smooth)
	b.strict = smooth
	dark, light := b.finderHits()
	if d.o.NoInverted {
		light = 0
	}
	every := d.o.Exhaustive
	gated := dark >= gateMin || light >= gateMin
	g.gated = gated
	if gated {
		d.stats.Gated++
		// The hint believes the smoothed scan of a noisy frame only: the
		// raw one finds chance triples in the noise.
		for pol, n := range [2]int{dark, light} {
			if n >= gateMin && smooth == d.noisy {
				d.seen = max(d.seen, b.areaSize[pol])
			}
		}
	}
	pols := [2]bool{dark >= gateMin || every, (light >= gateMin || every) && !d.o.NoInverted}
	// Full-frame reads only where the scene is not too busy for gozxing;
	// the windows around the finder patterns are read either way.
	full := [2]bool{pols[0] && !b.busy(0), pols[1] && !b.busy(1)}
	if full != pols {
		d.stats.Busy++
	}
	// The polarity with more finder-like places first: an inverted code
	// also shows dark ones (its rings), but fewer.
	order := [2]bool{false, true}
	if light > dark {
		order = [2]bool{true, false}
	}
	// The windows around each polarity's finder patterns first (cheap),
	// then the whole frame: the wrong polarity's full read costs as much
	// as a hit. Dark codes (paper, most screens) first there, unless the
	// light-centred patterns are clearly larger: a code's finders are
	// larger than the odd places the other polarity finds in it.
	areaOrder := [2]bool{false, true}
	if 2*b.areaSize[1] > 3*b.areaSize[0] {
		areaOrder = [2]bool{true, false}
	}
	g.pols, g.full = pols, full
	for _, inv := range areaOrder {
		if pols[b2i(inv)] {
			if t, ok := d.readArea(b, inv); ok {
				return t, true, g
			}
		}
	}
	if raw.valid() && gated && !d.o.Plain {
		d.gridDone = true
		if t, ok := d.readGrid(p, raw, b, full, d.costly(g, seq)); ok {
			return t, true, g
		}
	}
	for _, inv := range order {
		if full[b2i(inv)] {
			if t, ok := d.read(b.pack(inv), 1, 1, 0, 0, PassLocal, inv, false); ok {
				return t, true, g
			}
		}
	}
	return "", false, g
}

// costly reports whether the costly passes may run for a bitmap that
// passed the gate as g. A scene that keeps looking like a code but is not
// one (a static background with finder-like corners) must not cost every
// pass on every frame: after a few such frames in a row the costly passes
// run on every fourth frame only. Stills (seq 0) always get them. A frame
// counts once, however many of its bitmaps ask.
func (d *Decoder) costly(g gateState, seq uint64) bool {
	extras := g.pols[0] || g.pols[1]
	if !extras {
		if !d.repass {
			d.misses = 0 // the scene changed: nothing code-like any more
		}
		return false
	}
	if !d.counted {
		d.counted = true
		d.misses++
	}
	if seq != 0 && d.misses > 3 && d.misses%4 != 0 {
		// Only the cheap reads run: no slot of the read budget.
		d.throttled = d.throttled || !d.repass
		return false
	}
	return true
}

// moreReads runs the costly passes on b (firstReads' bitmap of p) for
// the polarities g let through, and the half-resolution pass.
func (d *Decoder) moreReads(b *binImage, p, raw plane, smooth bool, seq uint64, g gateState) (string, bool) {
	if d.o.Plain {
		return "", false
	}
	pols, full, every := g.pols, g.full, d.o.Exhaustive
	extras := d.costly(g, seq)
	// Our own grid sampling from the gate's finder patterns (grid.go),
	// unless firstReads ran it already on this bitmap.
	if !d.gridDone {
		if t, ok := d.readGrid(p, raw, b, full, extras); ok {
			return t, true
		}
	}
	for i, inv := range [2]bool{false, true} {
		if !full[i] || !extras {
			continue
		}
		if t, ok := d.read(b.pack(inv), 1, 1, 0, 0, PassLocal, inv, true); ok {
			return t, true
		}
		var src gozxing.LuminanceSource = b.src
		if inv {
			src = gozxing.NewInvertedLuminanceSource(src)
		}
		if bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src)); err == nil {
			if t, ok := d.read(bmp, 1, 1, 0, 0, PassHybrid, inv, true); ok {
				return t, true
			}
		}
		if bmp, err := gozxing.NewBinaryBitmap(gozxing.NewGlobalHistgramBinarizer(src)); err == nil {
			if t, ok := d.read(bmp, 1, 1, 0, 0, PassGlobal, inv, true); ok {
				return t, true
			}
		}
	}
	// Unsharp mask: the commonest failure at a kiosk is a slightly blurred
	// code (fixed-focus lens, a hand moving), and sharpening undoes some.
	if extras && !smooth && !d.spent() {
		sp := sharpen(p, &d.sharpY, &d.colSum)
		b.binarize(sp, minRange, false)
		for i, inv := range [2]bool{false, true} {
			if full[i] {
				if t, ok := d.read(b.pack(inv), 1, 1, 0, 0, PassSharpen, inv, true); ok {
					return t, true
				}
			}
		}
	}
	if extras && !smooth && !d.spent() {
		b.binarize(p, lowRange, false)
		for i, inv := range [2]bool{false, true} {
			if full[i] {
				if t, ok := d.read(b.pack(inv), 1, 1, 0, 0, PassLowContrast, inv, true); ok {
					return t, true
				}
			}
		}
	}
	// Half resolution: cheap (a quarter of the pixels), for codes whose
	// modules are wider than the local windows or blurred. Only where the
	// full-resolution gate passed: a frame where nothing looked like a
	// code skips it, stills and streams, clean or smoothed. On the camera
	// corpus's empty clean (MJPEG) frames it was about half the time: the
	// half-size bitmap's chance triples even ran gozxing. And since the
	// grid pass reads large modules at full resolution it
	// read nothing the gate had missed: not on the public photos (all
	// gated), the camera corpus, fresh seeds 11, 22, 33, 77, nor codes of
	// 4-16 px modules up to the frame's height (TestLargeModulesRead).
	if p.w >= 80 && p.h >= 80 && (pols[0] || pols[1]) && !d.spent() {
		var hp plane
		if smooth {
			// Already smoothed: every other pixel is the half-size frame.
			hp = subsample2(p, &d.halfY)
		} else {
			hp = downscale2(raw, &d.halfY)
		}
		h := &d.half
		h.binarize(hp, minRange, smooth)
		h.strict = smooth
		hd, hl := h.finderHits()
		hpols := [2]bool{(hd >= gateMin || every) && !h.busy(0), (hl >= gateMin || every) && !d.o.NoInverted && !h.busy(1)}
		for i, inv := range [2]bool{false, true} {
			if hpols[i] {
				if t, ok := d.read(h.pack(inv), 2, 2, 0, 0, PassHalf, inv, true); ok {
					return t, true
				}
			}
		}
	}
	return "", false
}

// decodeROI retries the region where a code was recently found, enlarged
// twice so that small modules survive binarization.
func (d *Decoder) decodeROI(p plane) (string, bool) {
	r := d.roi.Intersect(image.Rect(0, 0, p.w, p.h))
	if r.Dx() < 21 || r.Dy() < 21 {
		return "", false
	}
	// Keep the enlarged crop bounded: at most 512×512 of the frame.
	if r.Dx() > 512 || r.Dy() > 512 {
		return "", false
	}
	crop := plane{y: p.y[r.Min.Y*p.stride+r.Min.X:], w: r.Dx(), h: r.Dy(), stride: p.stride}
	up := upscale2(crop, &d.roiY)
	b := &d.roiBin
	b.binarize(up, minRange, false)
	b.finderHits()
	for _, inv := range [2]bool{false, true} {
		if (inv && d.o.NoInverted) || b.busy(b2i(inv)) {
			continue
		}
		if t, ok := d.read(b.pack(inv), 0.5, 0.5, float64(r.Min.X), float64(r.Min.Y), PassROI, inv, true); ok {
			return t, true
		}
	}
	return "", false
}

// read runs gozxing's QR reader on bmp; sx, sy, ox, oy map its points back
// to frame coordinates for the region of interest.
func (d *Decoder) read(bmp *gozxing.BinaryBitmap, sx, sy, ox, oy float64, pass Pass, inv, harder bool) (text string, ok bool) {
	defer func() {
		// gozxing is a port and not hardened against every bitmap; a panic
		// in it means "no code here", never a dead pipeline.
		if recover() != nil {
			text, ok = "", false
		}
	}()
	if d.stream && (harder || d.repass) {
		// A costly read: within this frame's budget, and not one an
		// earlier frame of the same scene already ran.
		if d.throttled {
			if d.frameReads >= streamReads {
				return "", false
			}
		} else {
			i := d.slot
			d.slot++
			if i < d.slotFrom {
				return "", false
			}
			if d.frameReads >= streamReads {
				if d.cutAt < 0 {
					d.cutAt = i
				}
				return "", false
			}
		}
	}
	d.frameReads++
	d.stats.Reads++
	hints := d.hints
	if (pass == PassLocal || pass == PassTrack) && !harder {
		hints = nil
	}
	res, err := d.reader.Decode(bmp, hints)
	if err != nil || res == nil {
		return "", false
	}
	d.found(pass, inv, res.GetResultPoints(), sx, sy, ox, oy)
	return res.GetText(), true
}

// found does the bookkeeping of a code read by pass at points (scaled by
// sx, sy and offset by ox, oy into the frame).
func (d *Decoder) found(pass Pass, inv bool, pts []gozxing.ResultPoint, sx, sy, ox, oy float64) {
	d.stats.Found[pass]++
	d.misses = 0
	if inv {
		d.stats.Inverted++
	}
	d.last, d.inv = pass, inv
	d.remember(pts, sx, sy, ox, oy)
}

// remember keeps the region around a found code's points, with a margin of
// half its size, for the ROI pass of the next frames.
func (d *Decoder) remember(pts []gozxing.ResultPoint, sx, sy, ox, oy float64) {
	if len(pts) < 3 {
		return
	}
	minX, minY, maxX, maxY := 1e9, 1e9, -1e9, -1e9
	for _, pt := range pts {
		if pt == nil {
			continue
		}
		x, y := pt.GetX()*sx+ox, pt.GetY()*sy+oy
		minX, maxX = min(minX, x), max(maxX, x)
		minY, maxY = min(minY, y), max(maxY, y)
	}
	mx, my := (maxX-minX)*0.6+8, (maxY-minY)*0.6+8
	d.roi = image.Rect(int(minX-mx), int(minY-my), int(maxX+mx), int(maxY+my))
	d.roiTTL = roiFrames
}

// downscale2 halves p with a 2×2 box filter into *buf (grown once).
func downscale2(p plane, buf *[]byte) plane {
	w, h := p.w/2, p.h/2
	if cap(*buf) < w*h {
		*buf = make([]byte, w*h)
	}
	out := (*buf)[:w*h]
	for y := 0; y < h; y++ {
		r0 := p.y[2*y*p.stride:]
		r1 := p.y[(2*y+1)*p.stride:]
		o := out[y*w : y*w+w]
		for x := range o {
			o[x] = byte((int(r0[2*x]) + int(r0[2*x+1]) + int(r1[2*x]) + int(r1[2*x+1]) + 2) >> 2)
		}
	}
	return plane{y: out, w: w, h: h, stride: w}
}

// subsample2 takes every other pixel of every other row of p (a smoothed
// frame, so not aliased) into *buf (grown once): a quarter of the work of
// downscale2.
func subsample2(p plane, buf *[]byte) plane {
	w, h := p.w/2, p.h/2
	if cap(*buf) < w*h {
		*buf = make([]byte, w*h)
	}
	out := (*buf)[:w*h]
	for y := 0; y < h; y++ {
		r := p.y[2*y*p.stride:][:2*w]
		o := out[y*w : y*w+w]
		for x := range o {
			o[x] = r[2*x]
		}
	}
	return plane{y: out, w: w, h: h, stride: w}
}

// upscale2 doubles p with bilinear interpolation into *buf (grown as needed).
func upscale2(p plane, buf *[]byte) plane {
	w, h := 2*p.w, 2*p.h
	if cap(*buf) < w*h {
		*buf = make([]byte, w*h)
	}
	out := (*buf)[:w*h]
	for y := 0; y < h; y++ {
		sy0 := y / 2
		sy1 := min(sy0+y%2, p.h-1)
		r0 := p.y[sy0*p.stride : sy0*p.stride+p.w]
		r1 := p.y[sy1*p.stride : sy1*p.stride+p.w]
		o := out[y*w : y*w+w]
		for x := 0; x < w; x++ {
			sx0 := x / 2
			sx1 := min(sx0+x%2, p.w-1)
			o[x] = byte((int(r0[sx0]) + int(r0[sx1]) + int(r1[sx0]) + int(r1[sx1]) + 2) >> 2)
		}
	}
	return plane{y: out, w: w, h: h, stride: w}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sharpen applies a 3×3 unsharp mask (v + (v - mean of 3×3)) to p into
// *buf, with column sums in *cols; both are grown once and reused.
func sharpen(p plane, buf *[]byte, cols *[]int32) plane {
	w, h := p.w, p.h
	if cap(*buf) < w*h {
		*buf = make([]byte, w*h)
	}
	if cap(*cols) < w {
		*cols = make([]int32, w)
	}
	out, cs := (*buf)[:w*h], (*cols)[:w]
	for y := 0; y < h; y++ {
		r0 := p.y[max(y-1, 0)*p.stride:]
		r1 := p.y[y*p.stride:]
		r2 := p.y[min(y+1, h-1)*p.stride:]
		for x := range cs {
			cs[x] = int32(r0[x]) + int32(r1[x]) + int32(r2[x])
		}
		o := out[y*w : y*w+w]
		for x := range o {
			s := cs[max(x-1, 0)] + cs[x] + cs[min(x+1, w-1)]
			v := int32(r1[x])
			v += v - s/9
			o[x] = byte(min(max(v, 0), 255))
		}
	}
	return plane{y: out, w: w, h: h, stride: w}
}
