package scanner

import (
	"math"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/common"
	qrdecoder "github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// The grid pass reads a code from the grey image itself, from three finder
// patterns the gate's scan found, instead of through gozxing's detector.
// On camera frames (noise, defocus, motion smear, MJPEG blocks, rolling
// shutter) most codes that the gate let through and every gozxing read
// missed failed in gozxing's detector or its global bit threshold, not in
// the modules: gozxing picks its finder patterns afresh on a bitmap whose
// noise breaks their rings, estimates the module size from those broken
// runs, and samples each module at one pixel of that bitmap. Here:
//
//   - the triple comes from the gate's candidates (binImage.cands), laid
//     out like a code's corners, the one with the largest patterns first;
//   - each finder's width along the code's two axes gives the module size,
//     and a template match on the grey image centres each finder;
//   - the version follows from the distances (the estimate, then ±1);
//   - for version 2 and up, the alignment pattern is found by a template
//     match on the grey image around where the finders put it, else the
//     parallelogram's fourth corner stands in;
//   - each module is the mean of five points around its centre, compared
//     with the mean of the modules around it (local threshold), and the
//     module matrix goes to gozxing's QR decoder (Reed-Solomon).
//
// Rolling-shutter skew is a shear, which the perspective transform absorbs.
// It runs only on frames that passed the gate and failed the first reads,
// costs one slot of the stream read budget per triple, and allocates only
// when it decodes (gozxing's decoder) or meets a larger version.

// gridMaxVersion bounds the versions the pass tries: larger codes have
// modules too small for a camera frame's pass anyway (and gozxing's reads
// cover clean ones).
const gridMaxVersion = 20

// gridTriples is how many triples per polarity the pass tries.
const gridTriples = 2

// gridWindow is the half-width, in modules, of the local threshold's window.
const gridWindow = 3

// grid holds the pass's buffers, reused from one frame to the next.
type grid struct {
	dec  *qrdecoder.Decoder
	pts  []float64 // module centres, mapped into the frame in place
	vals []float32 // each module's mean grey level, row by row
	sums []float32 // summed-area table of vals, (dim+1)² entries
	mats [gridMaxVersion + 1]*gozxing.BitMatrix
	// The alignment pattern of the triple being read, once looked for.
	ap           gridPt
	apDone, apOK bool
}

// gridPt is a point of the frame.
type gridPt struct{ x, y float64 }

func (a gridPt) add(b gridPt) gridPt    { return gridPt{a.x + b.x, a.y + b.y} }
func (a gridPt) sub(b gridPt) gridPt    { return gridPt{a.x - b.x, a.y - b.y} }
func (a gridPt) mul(k float64) gridPt   { return gridPt{a.x * k, a.y * k} }
func (a gridPt) norm() float64          { return math.Hypot(a.x, a.y) }
func (a gridPt) cross(b gridPt) float64 { return a.x*b.y - a.y*b.x }
func ptOf(c cand) gridPt                { return gridPt{float64(c.x), float64(c.y)} }

// readGrid runs the grid pass for each polarity in pols on the grey image
// p (the one b binarized: smoothed when noisy), sampling the modules on raw
// (the frame as captured: smoothing costs small modules their contrast,
// and the sampling averages anyway): the triples of b's candidates, best first. It
// does nothing unless extras (the costly passes run on this frame).
func (d *Decoder) readGrid(p, raw plane, b *binImage, pols [2]bool, extras bool) (string, bool) {
	if !extras {
		return "", false
	}
	for pol := range 2 {
		if !pols[pol] {
			continue
		}
		var best [gridTriples][3]cand
		n := b.bestTriples(pol, best[:])
		for _, t := range best[:n] {
			if !d.gridSlot() {
				return "", false
			}
			if text, pts, ok := d.grid.read(p, raw, b, t, pol == 1); ok {
				d.gridFound(pol == 1, pts)
				return text, true
			}
		}
	}
	return "", false
}

// gridSlot accounts for one grid read as read does for gozxing's costly
// reads: within the stream frame's budget, and not a slot an earlier frame
// of the same scene already ran.
func (d *Decoder) gridSlot() bool {
	if d.stream {
		if d.throttled {
			if d.frameReads >= streamReads {
				return false
			}
		} else {
			i := d.slot
			d.slot++
			if i < d.slotFrom {
				return false
			}
			if d.frameReads >= streamReads {
				if d.cutAt < 0 {
					d.cutAt = i
				}
				return false
			}
		}
	}
	d.frameReads++
	d.stats.Reads++
	return true
}

// gridFound does read's bookkeeping for a code the grid pass found.
func (d *Decoder) gridFound(inv bool, pts [3]gridPt) {
	rp := make([]gozxing.ResultPoint, 3)
	for i, q := range pts {
		rp[i] = gozxing.NewResultPoint(q.x, q.y)
	}
	d.found(PassGrid, inv, rp, 1, 1, 0, 0)
}

// bestTriples fills out with up to len(out) triples of polarity pol's
// candidates that lie like a code's finder patterns (as triples judges
// them), those with the largest smallest pattern first, and returns how
// many it found.
func (b *binImage) bestTriples(pol int, out [][3]cand) int {
	var keep [maxCands]cand
	cs := b.confirmed(pol, &keep)
	var score [8]int
	var leans [8]float64
	out = out[:min(len(out), len(score))]
	found := 0
	for i := 0; i < len(cs); i++ {
		for j := i + 1; j < len(cs); j++ {
			if !pairOK(cs[i], cs[j]) {
				continue
			}
			for k := j + 1; k < len(cs); k++ {
				if !pairOK(cs[i], cs[k]) || !pairOK(cs[j], cs[k]) ||
					!rightIsosceles(dist2(cs[i], cs[j]), dist2(cs[j], cs[k]), dist2(cs[i], cs[k])) {
					continue
				}
				sz := min(cs[i].rows, cs[j].rows, cs[k].rows)
				// Of triples as well confirmed, the squarer corner first:
				// with the corner's wide bounds (rightIsosceles) a code's
				// finders and a timing-row place often tie on rows.
				lean := cornerLean(dist2(cs[i], cs[j]), dist2(cs[j], cs[k]), dist2(cs[i], cs[k]))
				// Insertion into the sorted list of the best.
				at := found
				for at > 0 && (score[at-1] < sz || score[at-1] == sz && leans[at-1] > lean) {
					at--
				}
				if at >= len(out) {
					continue
				}
				for m := min(found, len(out)-1); m > at; m-- {
					out[m], score[m], leans[m] = out[m-1], score[m-1], leans[m-1]
				}
				out[at], score[at], leans[at] = [3]cand{cs[i], cs[j], cs[k]}, sz, lean
				found = min(found+1, len(out))
			}
		}
	}
	return found
}

// cornerLean is cos² of the angle opposite the longest of a triangle's
// sides (squared lengths x, y, z): 0 for a right corner.
func cornerLean(x, y, z int) float64 {
	a, c := min(x, y, z), max(x, y, z)
	b := x + y + z - a - c
	d := float64(a + b - c)
	return d * d / (4 * float64(a) * float64(b))
}

// read tries one triple: it reports the text and the three finder centres.
func (g *grid) read(p, raw plane, b *binImage, t [3]cand, inv bool) (text string, pts [3]gridPt, ok bool) {
	// a: the right-angle corner (opposite the longest side); then b and c
	// so that a code read the right way round has b to the right of a.
	ia, ib, ic := 0, 1, 2
	switch max(dist2(t[0], t[1]), dist2(t[1], t[2]), dist2(t[0], t[2])) {
	case dist2(t[0], t[1]):
		ia, ib, ic = 2, 0, 1
	case dist2(t[0], t[2]):
		ia, ib, ic = 1, 0, 2
	}
	A, B, C := ptOf(t[ia]), ptOf(t[ib]), ptOf(t[ic])
	if B.sub(A).cross(C.sub(A)) < 0 {
		B, C = C, B
	}
	ab, ac := B.sub(A), C.sub(A)
	if ab.norm() < 1 || ac.norm() < 1 {
		return "", pts, false
	}
	e1, e2 := ab.mul(1/ab.norm()), ac.mul(1/ac.norm())
	// The module size along each axis: a finder is 7 modules across.
	c := byte(1)
	if inv {
		c = 0
	}
	// A pattern's half-width along a diagonal is under its row width (cand
	// size, 7 modules as first seen) times 1.5; skewed, a little more.
	lim := 2 * max(t[0].size, t[1].size, t[2].size)
	a1, a2 := b.centre(&A, e1, e2, c, lim)
	b1, b2 := b.centre(&B, e1, e2, c, lim)
	c1, c2 := b.centre(&C, e1, e2, c, lim)
	if min(a1, a2, b1, b2, c1, c2) < 7 {
		return "", pts, false
	}
	mAB, mAC := (a1+b1)/14, (a2+c2)/14
	sign := 1.0 // dark modules are dark
	if inv {
		sign = -1
	}
	A = refine(p, A, e1.mul(a1/7), e2.mul(a2/7), sign, finderScore)
	B = refine(p, B, e1.mul(b1/7), e2.mul(b2/7), sign, finderScore)
	C = refine(p, C, e1.mul(c1/7), e2.mul(c2/7), sign, finderScore)
	pts = [3]gridPt{A, B, C}
	nAB, nAC := B.sub(A).norm()/mAB, C.sub(A).norm()/mAC
	v0 := int(math.Round(((nAB+nAC)/2 + 7 - 17) / 4))
	g.apDone = false
	for _, ver := range [3]int{v0, v0 - 1, v0 + 1} {
		if ver < 1 || ver > gridMaxVersion {
			continue
		}
		if text, ok := g.readVersion(p, raw, A, B, C, ver, sign); ok {
			return text, pts, true
		}
	}
	return "", pts, false
}

// readVersion samples and decodes the code of version ver whose finder
// patterns are centred at A, B, C.
func (g *grid) readVersion(p, raw plane, A, B, C gridPt, ver int, sign float64) (string, bool) {
	dim := 4*ver + 17
	// With the alignment pattern found, then (a wrong match under strong
	// perspective) without it.
	for _, ap := range [2]bool{true, false} {
		m, used := g.sample(p, raw, A, B, C, ver, sign, ap)
		// The finder patterns must be there: a grid laid over the wrong
		// place (a flat wall samples as a uniform matrix, which
		// Reed-Solomon takes for an empty code) is not decoded.
		if m != nil && findersOK(m, dim) {
			if text, ok := g.decode(m); ok && text != "" {
				return text, true
			}
		}
		if !used {
			break
		}
	}
	return "", false
}

// sample returns the module matrix of the code of version ver whose finder
// patterns are centred at A, B, C, and whether it used an alignment pattern
// (looked for when ap is true). The decoder unmasks (and may mirror) the
// matrix in place: it is valid until then.
func (g *grid) sample(p, raw plane, A, B, C gridPt, ver int, sign float64, ap bool) (*gozxing.BitMatrix, bool) {
	dim := 4*ver + 17
	k := float64(dim - 7)
	u, v := B.sub(A).mul(1/k), C.sub(A).mul(1/k)
	// The fourth reference point: the alignment pattern (module centre
	// dim-6.5) where one is found, else the parallelogram's corner.
	br, bm := B.add(C).sub(A), float64(dim)-3.5
	used := false
	if ap && ver >= 2 {
		// The pattern is where it is whatever the version: looked for
		// once per triple, with the first version's module vectors.
		if !g.apDone {
			est := A.add(u.add(v).mul(k - 3))
			g.ap, g.apOK = findAlignment(p, est, u, v, sign)
			g.apDone = true
		}
		if g.apOK {
			br, bm, used = g.ap, float64(dim)-6.5, true
		}
	}
	lo := 3.5
	hi := float64(dim) - 3.5
	tr := common.PerspectiveTransform_QuadrilateralToQuadrilateral(
		lo, lo, hi, lo, bm, bm, lo, hi,
		A.x, A.y, B.x, B.y, br.x, br.y, C.x, C.y)
	n := dim * dim
	if cap(g.pts) < 2*n {
		g.pts = make([]float64, 2*n)
		g.vals = make([]float32, n)
	}
	pts, vals := g.pts[:2*n], g.vals[:n]
	for y := range dim {
		for x := range dim {
			i := 2 * (y*dim + x)
			pts[i], pts[i+1] = float64(x)+0.5, float64(y)+0.5
		}
	}
	tr.TransformPoints(pts)
	// Five points a quarter module around each centre: noise averages out,
	// a neighbour's blur does not reach in.
	qu, qv := u.mul(0.25), v.mul(0.25)
	val := func(i int) float32 {
		q := gridPt{pts[2*i], pts[2*i+1]}
		s := 2*grey(raw, q) + grey(raw, q.add(qu)) + grey(raw, q.sub(qu)) + grey(raw, q.add(qv)) + grey(raw, q.sub(qv))
		return float32(sign * s / 6)
	}
	// The timing patterns first (row and column 6 between the finders,
	// alternating): a wrong version or a grid laid askew shows there, for
	// a fraction of the cost of sampling every module.
	for i := 8; i < dim-8; i++ {
		vals[6*dim+i], vals[i*dim+6] = val(6*dim+i), val(i*dim+6)
	}
	good, all := 0, 0
	for i := 9; i < dim-9; i++ {
		for _, at := range [2]func(int) float32{
			func(i int) float32 { return vals[6*dim+i] },
			func(i int) float32 { return vals[i*dim+6] },
		} {
			dark := 2*at(i) < at(i-1)+at(i+1)
			if dark == (i%2 == 0) {
				good++
			}
			all++
		}
	}
	if good*gridTimingDen < all*gridTimingNum {
		return nil, used
	}
	for i := range vals {
		vals[i] = val(i)
	}
	m := g.matrix(dim)
	g.threshold(dim, m)
	return m, used
}

// The share of timing-pattern modules (gridTimingNum/gridTimingDen) that
// must alternate as they should before the whole grid is sampled.
const gridTimingNum, gridTimingDen = 3, 4

// threshold sets the modules of m that are darker (in the code's polarity:
// vals are negated for light-on-dark) than the mean of the modules within
// gridWindow of them.
func (g *grid) threshold(dim int, m *gozxing.BitMatrix) {
	s := dim + 1
	if cap(g.sums) < s*s {
		g.sums = make([]float32, s*s)
	}
	sums := g.sums[:s*s]
	for x := range s {
		sums[x] = 0
	}
	for y := range dim {
		var row float32
		sums[(y+1)*s] = 0
		for x := range dim {
			row += g.vals[y*dim+x]
			sums[(y+1)*s+x+1] = sums[y*s+x+1] + row
		}
	}
	m.Clear()
	for y := range dim {
		y0, y1 := max(y-gridWindow, 0), min(y+gridWindow+1, dim)
		for x := range dim {
			x0, x1 := max(x-gridWindow, 0), min(x+gridWindow+1, dim)
			sum := sums[y1*s+x1] - sums[y0*s+x1] - sums[y1*s+x0] + sums[y0*s+x0]
			if g.vals[y*dim+x]*float32((y1-y0)*(x1-x0)) < sum {
				m.Set(x, y)
			}
		}
	}
}

func (g *grid) matrix(dim int) *gozxing.BitMatrix {
	ver := (dim - 17) / 4
	if g.mats[ver] == nil {
		g.mats[ver], _ = gozxing.NewSquareBitMatrix(dim)
	}
	return g.mats[ver]
}

// findersOK reports whether the module matrix m (dim×dim) shows the three
// finder patterns with their separators, but for a few modules: 8×8
// modules each, of which gridFinderErrs may be wrong.
func findersOK(m *gozxing.BitMatrix, dim int) bool {
	bad := 0
	for _, o := range [3][2]int{{0, 0}, {dim - 7, 0}, {0, dim - 7}} {
		for y := -1; y <= 7; y++ {
			for x := -1; x <= 7; x++ {
				mx, my := o[0]+x, o[1]+y
				if mx < 0 || my < 0 || mx >= dim || my >= dim {
					continue
				}
				r := max(abs(x-3), abs(y-3))
				dark := r != 2 && r != 4 // centre, dark ring; light ring, separator
				if m.Get(mx, my) != dark {
					bad++
				}
			}
		}
	}
	return bad <= gridFinderErrs
}

// gridFinderErrs is how many of the 192 finder and separator modules may
// be sampled wrong: a blurred corner, a glare spot, noise.
const gridFinderErrs = 24

// decode runs gozxing's QR decoder on the module matrix m.
func (g *grid) decode(m *gozxing.BitMatrix) (text string, ok bool) {
	defer func() {
		// gozxing's decoder is a port, not hardened against every matrix.
		if recover() != nil {
			text, ok = "", false
		}
	}()
	if g.dec == nil {
		g.dec = qrdecoder.NewDecoder()
	}
	res, err := g.dec.Decode(m, nil)
	if err != nil || res == nil {
		return "", false
	}
	return res.GetText(), true
}

// finderRuns measures the finder pattern around q along the direction e (a
// unit vector) on b's bits: the distance, in pixels, from q to the outer
// edge of its dark ring each way (a run of colour c, the centre's, one of
// the other, one of c again), at most limit pixels. 0, 0 when the rings
// are not there.
func (b *binImage) finderRuns(q, e gridPt, c byte, limit int) (fwd, back float64) {
	one := func(dir float64) float64 {
		state := 0
		for k := range limit {
			x := int(math.Round(q.x + dir*float64(k)*e.x))
			y := int(math.Round(q.y + dir*float64(k)*e.y))
			if x < 0 || y < 0 || x >= b.w || y >= b.h {
				return 0
			}
			want := int(c)
			if state == 1 {
				want = 1 - want
			}
			if b2i(b.at(x, y)) != want {
				state++
				if state == 3 {
					return float64(k)
				}
			}
		}
		return 0
	}
	fwd, back = one(1), one(-1)
	if fwd == 0 || back == 0 {
		return 0, 0
	}
	return fwd, back
}

// centre moves q to the middle of its finder pattern along both axes, and
// returns the pattern's width along each (0 when its rings are not there);
// limit bounds the runs (see finderRuns).
func (b *binImage) centre(q *gridPt, e1, e2 gridPt, c byte, limit int) (w1, w2 float64) {
	for range 2 {
		f, bk := b.finderRuns(*q, e1, c, limit)
		*q = q.add(e1.mul((f - bk) / 2))
		w1 = f + bk
		f, bk = b.finderRuns(*q, e2, c, limit)
		*q = q.add(e2.mul((f - bk) / 2))
		w2 = f + bk
	}
	return w1, w2
}

// finderScore is how much q, with module vectors u and v, looks like a
// finder pattern's centre: its ring 2 modules out against its centre and
// its ring 3 out (positive for a dark pattern when sign is 1).
func finderScore(p plane, q, u, v gridPt, sign float64) float64 {
	var centre, ring2, ring3 float64
	for i := -3; i <= 3; i++ {
		for j := -3; j <= 3; j++ {
			r := max(abs(i), abs(j))
			if r == 1 {
				continue
			}
			g := grey(p, q.add(u.mul(float64(i))).add(v.mul(float64(j))))
			switch r {
			case 0:
				centre += g
			case 2:
				ring2 += g
			case 3:
				ring3 += g
			}
		}
	}
	return sign * (ring2/16 - (centre+ring3/24)/2)
}

// alignScore is finderScore for the alignment pattern: a dark module, a
// light ring, a dark ring.
func alignScore(p plane, q, u, v gridPt, sign float64) float64 {
	var centre, ring1, ring2 float64
	for i := -2; i <= 2; i++ {
		for j := -2; j <= 2; j++ {
			g := grey(p, q.add(u.mul(float64(i))).add(v.mul(float64(j))))
			switch max(abs(i), abs(j)) {
			case 0:
				centre = g
			case 1:
				ring1 += g
			case 2:
				ring2 += g
			}
		}
	}
	return sign * (ring1/8 - (centre+ring2/16)/2)
}

// refine moves q to where score peaks within half a module, in steps of a
// quarter pixel after a coarser search.
func refine(p plane, q, u, v gridPt, sign float64, score func(plane, gridPt, gridPt, gridPt, float64) float64) gridPt {
	m := max(u.norm(), v.norm())
	best, bs := q, score(p, q, u, v, sign)
	for _, step := range [2]float64{max(m/4, 0.5), 0.25} {
		c := best
		r := int(math.Ceil(m / 2 / step))
		if step == 0.25 {
			r = 2
		}
		for i := -r; i <= r; i++ {
			for j := -r; j <= r; j++ {
				t := gridPt{c.x + float64(i)*step, c.y + float64(j)*step}
				if s := score(p, t, u, v, sign); s > bs {
					best, bs = t, s
				}
			}
		}
	}
	return best
}

// findAlignment looks for the alignment pattern within 4 modules of est
// (module vectors u, v): the place that looks most like one, if it stands
// out from its surroundings clearly enough.
func findAlignment(p plane, est, u, v gridPt, sign float64) (gridPt, bool) {
	m := max(u.norm(), v.norm())
	step := max(m/3, 1)
	r := int(math.Ceil(4 * m / step))
	best, bs := est, math.Inf(-1)
	for i := -r; i <= r; i++ {
		for j := -r; j <= r; j++ {
			t := gridPt{est.x + float64(i)*step, est.y + float64(j)*step}
			if s := alignScore(p, t, u, v, sign); s > bs {
				best, bs = t, s
			}
		}
	}
	best = refine(p, best, u, v, sign, alignScore)
	// A real pattern's rings differ by a good part of the code's contrast;
	// the finder at a (centre against ring 2) gives that contrast.
	return best, alignScore(p, best, u, v, sign) > 8
}

// grey is the bilinear interpolation of p at q, clamped to the frame.
func grey(p plane, q gridPt) float64 {
	x, y := q.x, q.y
	// Written so that NaN (a degenerate transform) clamps too.
	if !(x > 0) {
		x = 0
	} else if x > float64(p.w-1) {
		x = float64(p.w - 1)
	}
	if !(y > 0) {
		y = 0
	} else if y > float64(p.h-1) {
		y = float64(p.h - 1)
	}
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, p.w-1), min(y0+1, p.h-1)
	fx, fy := x-float64(x0), y-float64(y0)
	r0, r1 := p.y[y0*p.stride:], p.y[y1*p.stride:]
	top := float64(r0[x0])*(1-fx) + float64(r0[x1])*fx
	bot := float64(r1[x0])*(1-fx) + float64(r1[x1])*fx
	return top*(1-fy) + bot*fy
}
