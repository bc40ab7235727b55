package store

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// The portable snapshot file (kioskd export / import), all integers big-endian:
//
//	magic     8 bytes  "KSKSNAP1"
//	count     uint64   number of records
//	last_sync int64    Unix ns when the exported cache was complete (0: unknown)
//	server    int64    Unix ns of the server's time for it (0: unknown)
//	records   count × { hash [32]byte; created_ms varint; expires_ms varint;
//	                    address, chain, name: uvarint length + bytes }
//	          in strictly ascending hash order
//	trailer   [32]byte sha256 of every byte before it
//
// It holds hashes, never codes.

var snapMagic = [8]byte{'K', 'S', 'K', 'S', 'N', 'A', 'P', '1'}

// maxImportCount bounds the header's count so a corrupt header cannot make
// the import run forever on a short stream.
const maxImportCount = 100_000_000

// ErrBadSnapshotFile is wrapped by every Import error about the file itself.
var ErrBadSnapshotFile = errors.New("bad snapshot file")

// Export writes the serving cache as a portable snapshot file.
func (s *Store) Export(w io.Writer) error {
	err := s.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		b := activeBucket(tx)
		var count uint64
		if b != nil {
			count = uint64(b.Stats().KeyN)
		}
		sw := newSnapWriter(w, count, SyncInfo{At: getTime(m, keyLastSync), ServerTime: getTime(m, keyServerTime)})
		if b != nil {
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if len(k) != 32 || len(v) < 1 || v[0] != recordV1 {
					return fmt.Errorf("corrupt record in cache: %w", errCorrupt)
				}
				body, err := recordBody(v[1:])
				if err != nil {
					return fmt.Errorf("corrupt record in cache: %w", err)
				}
				sw.raw(k, body)
			}
		}
		return sw.close()
	})
	if err != nil {
		return fmt.Errorf("exporting cache: %w", err)
	}
	return nil
}

// snapWriter writes the snapshot file format; records must come in
// ascending hash order and number exactly count.
type snapWriter struct {
	w  io.Writer
	h  hash.Hash
	bw *bufio.Writer
}

func newSnapWriter(w io.Writer, count uint64, info SyncInfo) *snapWriter {
	h := sha256.New()
	sw := &snapWriter{w: w, h: h, bw: bufio.NewWriterSize(io.MultiWriter(w, h), 1<<16)}
	var hdr [32]byte
	copy(hdr[:8], snapMagic[:])
	binary.BigEndian.PutUint64(hdr[8:], count)
	binary.BigEndian.PutUint64(hdr[16:], uint64(timeNs(info.At)))
	binary.BigEndian.PutUint64(hdr[24:], uint64(timeNs(info.ServerTime)))
	sw.bw.Write(hdr[:])
	return sw
}

func (sw *snapWriter) raw(key, body []byte) {
	sw.bw.Write(key)
	sw.bw.Write(body)
}

// close flushes and writes the trailer; it reports the first write error.
func (sw *snapWriter) close() error {
	if err := sw.bw.Flush(); err != nil {
		return err
	}
	_, err := sw.w.Write(sw.h.Sum(nil))
	return err
}

// Import replaces the cache with a snapshot file, atomically like a sync: the
// file is checked while it streams into a new snapshot, and only a complete
// file whose count, order and sha256 trailer are right is committed. On any
// error the old cache keeps serving. It returns the number of records.
func (s *Store) Import(r io.Reader) (int, error) {
	sn, err := s.NewSnapshot()
	if err != nil {
		return 0, fmt.Errorf("importing: %w", err)
	}
	info, n, err := readSnapshotFile(r, sn.putBody)
	if err != nil {
		sn.Abort()
		return 0, fmt.Errorf("importing: %w", err)
	}
	info.Source = "import"
	if err := sn.Commit(info); err != nil {
		return 0, fmt.Errorf("importing: %w", err)
	}
	return n, nil
}

// readSnapshotFile parses and checks a snapshot file, handing each record's
// key and validated body to put (valid until put returns).
func readSnapshotFile(r io.Reader, put func(key *[32]byte, body []byte) error) (SyncInfo, int, error) {
	tail := &tailHasher{h: sha256.New()}
	br := bufio.NewReaderSize(io.TeeReader(r, tail), 1<<16)
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadSnapshotFile, fmt.Sprintf(format, args...))
	}
	var hdr [32]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return SyncInfo{}, 0, bad("reading header: %v", err)
	}
	if !bytes.Equal(hdr[:8], snapMagic[:]) {
		return SyncInfo{}, 0, bad("not a kioskd snapshot file")
	}
	count := binary.BigEndian.Uint64(hdr[8:])
	if count > maxImportCount {
		return SyncInfo{}, 0, bad("record count %d too large", count)
	}
	info := SyncInfo{
		At:         nsTime(int64(binary.BigEndian.Uint64(hdr[16:]))),
		ServerTime: nsTime(int64(binary.BigEndian.Uint64(hdr[24:]))),
	}
	var prev, key [32]byte
	buf := make([]byte, 0, 256)
	for i := uint64(0); i < count; i++ {
		if _, err := io.ReadFull(br, key[:]); err != nil {
			return SyncInfo{}, 0, bad("record %d: %v", i, err)
		}
		if i > 0 && bytes.Compare(key[:], prev[:]) <= 0 {
			return SyncInfo{}, 0, bad("record %d: hashes not in ascending order", i)
		}
		prev = key
		var err error
		if buf, err = readRecordBody(br, buf[:0]); err != nil {
			return SyncInfo{}, 0, bad("record %d: %v", i, err)
		}
		if err := put(&key, buf); err != nil {
			return SyncInfo{}, 0, err
		}
	}
	var trailer [32]byte
	if _, err := io.ReadFull(br, trailer[:]); err != nil {
		return SyncInfo{}, 0, bad("reading trailer: %v", err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return SyncInfo{}, 0, bad("data after trailer")
	}
	sum, last := tail.sum()
	if subtle.ConstantTimeCompare(last, trailer[:]) != 1 || subtle.ConstantTimeCompare(sum, trailer[:]) != 1 {
		return SyncInfo{}, 0, bad("checksum mismatch")
	}
	return info, int(count), nil
}

// readRecordBody reads one record body and appends its canonical encoding
// (appendRecordBody's) to buf, without allocating per field.
func readRecordBody(br *bufio.Reader, buf []byte) ([]byte, error) {
	for range 2 {
		t, err := binary.ReadVarint(br)
		if err != nil {
			return buf, err
		}
		buf = binary.AppendVarint(buf, t)
	}
	for range 3 {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return buf, err
		}
		if n > maxField {
			return buf, fmt.Errorf("field of %d bytes too long", n)
		}
		buf = binary.AppendUvarint(buf, n)
		start := len(buf)
		buf = slices.Grow(buf, int(n))[:start+int(n)]
		if _, err := io.ReadFull(br, buf[start:]); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// tailHasher hashes everything written to it except the last 32 bytes, which
// it keeps: the trailer of a stream whose length is not known in advance.
type tailHasher struct {
	h    hash.Hash
	tail []byte
}

func (t *tailHasher) Write(p []byte) (int, error) {
	t.tail = append(t.tail, p...)
	if n := len(t.tail) - 32; n > 0 {
		t.h.Write(t.tail[:n])
		t.tail = append(t.tail[:0], t.tail[n:]...)
	}
	return len(p), nil
}

func (t *tailHasher) sum() (sum, last []byte) {
	return t.h.Sum(nil), t.tail
}
