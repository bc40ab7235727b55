package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readSecretBounded runs ReadSecret but gives up after a while: the FIFO
// case hung forever before the fix, and a test must fail, not hang.
func readSecretBounded(t *testing.T, s Secret) (string, error) {
	t.Helper()
	type result struct {
		v   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, _, err := ReadSecret(s)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(10 * time.Second):
		// Free the goroutine blocked in open(2): a writer that comes and
		// goes lets it read EOF and return.
		if w, err := os.OpenFile(s.File, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		<-done
		t.Fatalf("ReadSecret(%s) did not return within 10 s", s.Key)
		return "", nil
	}
}

// TestFaultSecretSpecialFiles: a secret setting that names a device, a FIFO,
// a folder or a huge file is refused at once, without reading it (before
// the fix /dev/zero was read until memory ran out and a FIFO hung start-up).
func TestFaultSecretSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge")
	if err := os.WriteFile(huge, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, 1<<30); err != nil { // sparse: 1 GiB that costs no disk
		t.Fatal(err)
	}
	justOver := filepath.Join(dir, "just-over")
	os.WriteFile(justOver, []byte(strings.Repeat("k", secretLimit+1)), 0o600)
	atLimit := filepath.Join(dir, "at-limit")
	os.WriteFile(atLimit, []byte(strings.Repeat("k", secretLimit)), 0o600)

	tests := []struct {
		name, file, want string // want: "" = accepted
	}{
		{"dev zero", "/dev/zero", "not a regular file (a character device)"},
		{"dev urandom", "/dev/urandom", "not a regular file (a character device)"},
		{"fifo without writer", fifo, "not a regular file (a FIFO)"},
		{"folder", dir, "not a regular file (a folder)"},
		{"1 GiB file", huge, "larger than 64 KiB"},
		{"one byte over", justOver, "larger than 64 KiB"},
		{"at the limit", atLimit, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Secret{Key: "bitbadges.api_key_file", Name: tt.file, File: tt.file}
			v, err := readSecretBounded(t, s)
			if tt.want == "" {
				if err != nil || len(v) != secretLimit {
					t.Fatalf("ReadSecret = %d bytes, %v; want %d bytes", len(v), err, secretLimit)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted (%d bytes read); want an error with %q", len(v), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "bitbadges.api_key_file: ") {
				t.Errorf("error %q; want it to name the key and say %q", err, tt.want)
			}
		})
	}
}

// TestFaultSecretPastedValue: whatever shape a secret pasted in place of its
// file's name has (a JWT with dots, base64 with slashes, longer than a file
// name may be), the error names the key and never repeats the value. Before
// the fix only dot- and slash-free values were kept out.
func TestFaultSecretPastedValue(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, value string }{
		{"jwt", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJraW9za2QtZG9vciIsImlhdCI6MTcxOTg3ODQwMH0.Zm9vYmFyYmF6cXV4cXV1eA"},
		{"base64 with slash", "q8Fz/1Pk+Yw9Lr2mNx7Vb3Tc6Hd0Sa4Ge5Jf=="},
		{"plain token", "bbk_9f8e7d6c5b4a39281706f5e4d3c2b1a0"},
		{"dotted short", "sk.live.4f9a2c71e0"},
		{"longer than a file name", strings.Repeat("AbCdEfGh12", 30)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Secret{Key: "bitbadges.client_secret_file", Name: tt.value, File: filepath.Join(dir, tt.value)}
			_, _, err := ReadSecret(s)
			if err == nil {
				t.Fatal("no error for a file that does not exist")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "bitbadges.client_secret_file: ") {
				t.Errorf("error %q does not start with the key", msg)
			}
			if leak := sharedRun(msg, tt.value, 8); leak != "" {
				t.Errorf("error %q repeats %q of the value", msg, leak)
			}
			if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ENAMETOOLONG) {
				t.Errorf("error %q lost its cause", msg)
			}
		})
	}
}

// sharedRun returns a run of n characters of secret found in msg, or "".
func sharedRun(msg, secret string, n int) string {
	for i := 0; i+n <= len(secret); i++ {
		if strings.Contains(msg, secret[i:i+n]) {
			return secret[i : i+n]
		}
	}
	return ""
}

// secretLimit is the documented bound (64 KiB), spelled out so that the
// test does not follow a change of the constant.
const secretLimit = 64 << 10
