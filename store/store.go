package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Top-level bucket names. Snapshot buckets are named snapPrefix + 16 hex digits.
var (
	bucketMeta        = []byte("meta")
	bucketRedemptions = []byte("redemptions")
	bucketRedeemed    = []byte("redeemed-nonces")
	bucketEvents      = []byte("events")
	bucketEventNonces = []byte("event-nonces")
)

const snapPrefix = "snap."

// Keys in the meta bucket.
var (
	keyActive       = []byte("active")
	keyLastSync     = []byte("last_sync")
	keyCount        = []byte("count")
	keyServerTime   = []byte("server_time")
	keySource       = []byte("source")
	keyTrustedTime  = []byte("trusted_time")
	keyRefreshToken = []byte("refresh_token")
	keyDropped      = []byte("dropped_events")
	keyPending      = []byte("pending_events")
)

// Defaults for Options.
const (
	DefaultMaxPendingEvents = 100000
	DefaultSnapshotBatch    = 20000
	DefaultLockTimeout      = 2 * time.Second
	DefaultNonceRetention   = 30 * 24 * time.Hour
)

// ErrLocked is returned by Open when another process holds the store file.
var ErrLocked = errors.New("store file is locked by another process")

// ErrSnapshotBusy is returned by NewSnapshot while another snapshot is being written.
var ErrSnapshotBusy = errors.New("another snapshot is being written")

// ErrBadHash is returned for a hash that is not 64 hex characters.
var ErrBadHash = errors.New("not a 64-hex sha256 hash")

// Options tune a Store.
type Options struct {
	// MaxPendingEvents bounds the event outbox; when full the oldest event is
	// dropped and counted (DroppedEvents). 0 = DefaultMaxPendingEvents.
	MaxPendingEvents int
	Logger           *slog.Logger
	// NoSync skips fsync: for tests only, it voids every durability guarantee.
	NoSync bool
	// SnapshotBatch is how many records a Snapshot buffers before writing them
	// in one transaction (memory bound while streaming). 0 = DefaultSnapshotBatch.
	SnapshotBatch int
	// LockTimeout bounds the wait for another process's lock on the file.
	// 0 = DefaultLockTimeout.
	LockTimeout time.Duration
	// InitialMmapSize reserves address space for the file up front, so a
	// growing file is not remapped (a remap briefly holds back lookups).
	// 0 = bbolt's default (grow as needed); keep it modest on 32-bit ARM.
	InitialMmapSize int
	// NonceRetention is how long redemption nonces are remembered for
	// idempotency (peer replays); older ones are pruned about once a day,
	// after a snapshot commit. 0 = DefaultNonceRetention.
	NonceRetention time.Duration
	// Now is the device's clock; nil = time.Now (whose monotonic reading
	// measures the time elapsed since the trusted-time floor was set).
	Now func() time.Time
	// ClockStep bounds how far one server time may move the trusted-time
	// floor past the floor plus the elapsed time; 0 = DefaultClockStep.
	ClockStep time.Duration
	// ClockAgreement is how closely a second sync must agree with a held
	// jump of the server's time to confirm it; 0 = DefaultClockAgreement.
	ClockAgreement time.Duration
	// SkipCheck skips reading every key at Open (see Open): for
	// benchmarks that measure it, and for Recover's own use.
	SkipCheck bool
}

// Record is what a verdict needs to know about one cached code. It never
// holds the code itself, only its hash.
type Record struct {
	Hash      string // hex sha256 of the code's 64-hex text (BitBadges _docId)
	Address   string
	Chain     string
	Name      string
	CreatedAt time.Time
	ExpiresAt time.Time // zero = never expires

	// BitBadgesAddress (bb1…) is the join to badge owners, kept only when
	// it differs from Address: see OwnerAddress.
	BitBadgesAddress string
}

// SyncInfo describes a completed snapshot.
type SyncInfo struct {
	// At is when the snapshot was complete; it is trusted (ObserveTrustedTime).
	At time.Time
	// ServerTime is the server's own time for the snapshot, when it gave one.
	ServerTime time.Time
	// Source is "sync" or "import".
	Source string
}

// Meta describes the serving cache.
type Meta struct {
	LastSync    time.Time // when the serving snapshot was complete (zero: never)
	Count       int       // records in the serving snapshot
	ServerTime  time.Time
	Source      string
	TrustedTime time.Time // latest trustworthy time seen
	// ClockPending is a sync's server time held until a second sync agrees
	// (zero: none; see ClockState).
	ClockPending time.Time
}

// Store is the kiosk's memory: the code cache, redemptions, the event outbox,
// the trusted clock and the sync's refresh token, in one bbolt file.
// It is safe for concurrent use.
type Store struct {
	db   *guardedDB
	path string
	log  *slog.Logger
	opt  Options

	mu       sync.Mutex // guards meta and snapBusy
	meta     Meta
	snapBusy bool

	codeLocks [64]sync.Mutex // striped by hash: see LockCode

	writers atomic.Int32 // durable writes in flight: see coalesced

	lastPrune time.Time // guarded by mu: when Commit last pruned nonces
	// floorSeen is the device's clock (monotonic when real) when
	// meta.TrustedTime was set or loaded; guarded by mu. See boundLocked.
	floorSeen time.Time
}

// batchDelay is how long a durable write waits for others to share its fsync
// when it is not alone (bbolt's default, 10 ms, would delay the door).
const batchDelay = 2 * time.Millisecond

// coalesced runs a durable write transaction. A writer that is alone commits
// at once (bbolt's Batch would first wait MaxBatchDelay for company, adding
// that to every door opening); writers that arrive while others are in flight
// go through DB.Batch and share one fsync.
func (s *Store) coalesced(fn func(*bolt.Tx) error) error {
	defer s.writers.Add(-1)
	if s.writers.Add(1) == 1 {
		return s.db.Update(fn)
	}
	return s.db.Batch(fn)
}

// LockCode serializes deciding-and-redeeming one code across goroutines (two
// cameras, two verifiers): between reading a code's redemption state and
// recording a new redemption, no other redemption of it can slip in. Codes
// are striped over a few mutexes, so unrelated codes rarely wait. Call the
// returned function to unlock.
func (s *Store) LockCode(hash string) (unlock func()) {
	var h uint8
	if len(hash) >= 2 {
		h = hash[0]*31 + hash[1]
	}
	m := &s.codeLocks[h%uint8(len(s.codeLocks))]
	m.Lock()
	return m.Unlock
}

// HashCode returns hex(sha256(code)) of the lowercase 64-hex code text:
// the BitBadges _docId, and the only form in which a code is ever stored.
func HashCode(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// NewNonce returns 128 random bits as 32 hex characters.
func NewNonce() string {
	var b [16]byte
	// crypto/rand.Read never fails on supported platforms (Go 1.24+ panics instead).
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Open opens (creating if needed) the store file at path. If another process
// holds it, Open fails with ErrLocked after o.LockTimeout instead of hanging.
// Open garbage-collects snapshots that were never committed.
//
// A damaged file is refused with an error wrapping ErrDamaged, never a
// panic: an empty (0-byte) file, a truncated one, bad meta pages, a damaged
// page (every page of every bucket is read and checked first, unless
// o.SkipCheck), or a missing file where MarkerPath shows a store existed.
func Open(path string, o Options) (*Store, error) {
	if o.MaxPendingEvents <= 0 {
		o.MaxPendingEvents = DefaultMaxPendingEvents
	}
	if o.SnapshotBatch <= 0 {
		o.SnapshotBatch = DefaultSnapshotBatch
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.NonceRetention <= 0 {
		o.NonceRetention = DefaultNonceRetention
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("opening store: creating folder: %w", err)
	}
	err := preflight(path, !o.SkipCheck)
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	db, err := openBolt(path, &bolt.Options{
		Timeout:         o.LockTimeout,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: o.InitialMmapSize,
		NoSync:          o.NoSync,
	})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("opening store %s: %w (waited %v)", path, ErrLocked, o.LockTimeout)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, bolterrors.ErrVersionMismatch):
		return nil, fmt.Errorf("opening store %s: %w: %w", path, ErrDamaged, err)
	case err != nil:
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	db.MaxBatchDelay = batchDelay
	s := &Store{db: &guardedDB{DB: db, log: o.Logger}, path: path, log: o.Logger, opt: o}
	if err := s.init(); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	if err := writeMarker(path); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	return s, nil
}

// preflight looks at the file before bbolt maps it: bbolt would take an
// empty file for a new store, panic (or fault) on a truncated one, and loop
// for ever on a page that points back at itself. With check, every page of
// every bucket is read and its pointers checked (rawCheck).
func preflight(path string, check bool) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		if b, merr := os.ReadFile(MarkerPath(path)); merr == nil {
			return fmt.Errorf("%w: the store file is missing, but %s shows a store was created here (%s); "+
				"refusing to start an empty store, which would forget every code already used",
				ErrDamaged, filepath.Base(MarkerPath(path)), strings.TrimSpace(string(b)))
		}
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fm, err := readFileMeta(f)
	if err != nil || !check {
		return err
	}
	if problems := rawCheck(f, fm, fm.root); len(problems) > 0 {
		return problemsError(problems)
	}
	return nil
}

// writeMarker records, once, that a store was created at path (see
// MarkerPath). It is durable before the store is used.
func writeMarker(path string) error {
	mp := MarkerPath(path)
	if _, err := os.Stat(mp); err == nil {
		return nil
	}
	f, err := os.OpenFile(mp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("writing the store marker: %w", err)
	}
	_, err = fmt.Fprintf(f, "kioskd store %s first opened %s\n", filepath.Base(path), time.Now().UTC().Format(time.RFC3339))
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("writing the store marker: %w", err)
	}
	if d, err := os.Open(filepath.Dir(mp)); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("writing the store marker: syncing the folder: %w", err)
		}
	}
	return nil
}

// init creates the buckets, drops uncommitted snapshots and loads the meta.
func (s *Store) init() error {
	var dropped []string
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketRedemptions, bucketRedeemed, bucketEvents, bucketEventNonces} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("creating bucket %s: %w", b, err)
			}
		}
		var err error
		dropped, err = dropStaleSnapshots(tx)
		return err
	})
	if err != nil {
		return err
	}
	if len(dropped) > 0 {
		s.log.Info("dropped uncommitted snapshots", "buckets", dropped)
	}
	return s.db.View(func(tx *bolt.Tx) error {
		s.meta = readMeta(tx.Bucket(bucketMeta))
		s.floorSeen = s.now()
		return nil
	})
}

// dropStaleSnapshots deletes every snapshot bucket but the serving one. Call
// it only while no snapshot is being written (at Open, or in NewSnapshot,
// which holds the only snapshot slot).
func dropStaleSnapshots(tx *bolt.Tx) ([]string, error) {
	active := tx.Bucket(bucketMeta).Get(keyActive)
	var stale [][]byte
	err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		if isSnapBucket(name) && string(name) != string(active) {
			stale = append(stale, append([]byte(nil), name...))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var dropped []string
	for _, name := range stale {
		if err := tx.DeleteBucket(name); err != nil {
			return nil, fmt.Errorf("dropping uncommitted snapshot %s: %w", name, err)
		}
		dropped = append(dropped, string(name))
	}
	return dropped, nil
}

func isSnapBucket(name []byte) bool {
	return len(name) > len(snapPrefix) && string(name[:len(snapPrefix)]) == snapPrefix
}

// Close closes the file. Pending Batch writes complete first.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing store: %w", err)
	}
	return nil
}

// Path is the store file's path.
func (s *Store) Path() string { return s.path }

// Meta returns the serving cache's description. After the store failed
// (Err) it returns the failure too, so health turns bad.
func (s *Store) Meta() (Meta, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meta, s.db.Err()
}

// Err is why the store stopped serving (bbolt panicked on a damaged page
// while running: see ErrFailed), or nil while it is sound.
func (s *Store) Err() error { return s.db.Err() }

// TrustedTime returns the latest trustworthy time seen (zero if none).
func (s *Store) TrustedTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meta.TrustedTime
}

// RefreshToken returns the persisted BitBadges refresh token ("" if none).
// It is a secret: never log it.
func (s *Store) RefreshToken() (string, error) {
	var tok string
	err := s.db.View(func(tx *bolt.Tx) error {
		tok = string(tx.Bucket(bucketMeta).Get(keyRefreshToken))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("reading refresh token: %w", err)
	}
	return tok, nil
}

// SetRefreshToken durably replaces the refresh token (fsync'd before it returns).
func (s *Store) SetRefreshToken(tok string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyRefreshToken, []byte(tok))
	})
	if err != nil {
		return fmt.Errorf("storing refresh token: %w", err)
	}
	return nil
}

// Lookup returns the cached record for a code hash (hex sha256).
func (s *Store) Lookup(hash string) (Record, bool, error) {
	var key [32]byte
	if err := decodeHash(&key, hash); err != nil {
		return Record{}, false, err
	}
	var rec Record
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, found, err = lookupTx(tx, key[:], hash)
		return err
	})
	if err != nil {
		return Record{}, false, fmt.Errorf("looking up code: %w", err)
	}
	return rec, found, nil
}

func lookupTx(tx *bolt.Tx, key []byte, hash string) (Record, bool, error) {
	b := activeBucket(tx)
	if b == nil {
		return Record{}, false, nil
	}
	v := b.Get(key)
	if v == nil {
		return Record{}, false, nil
	}
	rec, err := decodeRecord(v)
	if err != nil {
		return Record{}, false, fmt.Errorf("record %.12s: %w", hash, err)
	}
	rec.Hash = hash
	return rec, true, nil
}

func activeBucket(tx *bolt.Tx) *bolt.Bucket {
	active := tx.Bucket(bucketMeta).Get(keyActive)
	if active == nil {
		return nil
	}
	return tx.Bucket(active)
}

// Inspection is everything a verdict reads about one code, read in one
// transaction so it is consistent.
type Inspection struct {
	Record   Record
	Found    bool
	State    RedemptionState
	Redeemed bool // State is valid
	Meta     Meta
}

// Inspect reads a code's record and redemption state together.
func (s *Store) Inspect(hash string) (Inspection, error) {
	var key [32]byte
	if err := decodeHash(&key, hash); err != nil {
		return Inspection{}, err
	}
	var in Inspection
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		in.Record, in.Found, err = lookupTx(tx, key[:], hash)
		if err != nil {
			return err
		}
		if v := tx.Bucket(bucketRedemptions).Get(key[:]); v != nil {
			in.State, err = decodeState(v)
			if err != nil {
				return fmt.Errorf("redemption %.12s: %w", hash, err)
			}
			in.State.Last.Hash, in.State.LastUse.Hash = hash, hash
			in.Redeemed = true
		}
		return nil
	})
	if err != nil {
		return Inspection{}, fmt.Errorf("inspecting code: %w", err)
	}
	in.Meta, _ = s.Meta()
	return in, nil
}

func decodeHash(dst *[32]byte, hash string) error {
	if len(hash) != 64 {
		return ErrBadHash
	}
	if _, err := hex.Decode(dst[:], []byte(hash)); err != nil {
		return ErrBadHash
	}
	return nil
}

func readMeta(m *bolt.Bucket) Meta {
	return Meta{
		LastSync:     getTime(m, keyLastSync),
		Count:        int(getUint(m, keyCount)),
		ServerTime:   getTime(m, keyServerTime),
		Source:       string(m.Get(keySource)),
		TrustedTime:  getTime(m, keyTrustedTime),
		ClockPending: getTime(m, keyClockPending),
	}
}

// Times are stored as int64 Unix nanoseconds, big-endian; absent = zero time.
func putTime(b *bolt.Bucket, k []byte, t time.Time) {
	if t.IsZero() {
		_ = b.Delete(k)
		return
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(t.UnixNano()))
	_ = b.Put(k, v[:])
}

func getTime(b *bolt.Bucket, k []byte) time.Time {
	v := b.Get(k)
	if len(v) != 8 {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
}

func putUint(b *bolt.Bucket, k []byte, n uint64) error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], n)
	return b.Put(k, v[:])
}

func getUint(b *bolt.Bucket, k []byte) uint64 {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}
