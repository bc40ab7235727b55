package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// MaxSecretBytes bounds a secret file: keys and tokens are a few hundred
// bytes, so 64 KiB is generous, and a mistaken path to a log file, a disk
// image or /dev/zero cannot fill the kiosk's memory.
const MaxSecretBytes = 64 << 10

// Secret tells where one secret comes from: an environment variable (checked
// first) or a file. It never holds the secret itself, so a Config can be
// logged or printed without leaking anything.
type Secret struct {
	Key string // config key of the file, for messages, e.g. "bitbadges.api_key_file"
	// Name is the value as written in the config. A bare name (no "/") is
	// first looked up in $CREDENTIALS_DIRECTORY (systemd LoadCredential=).
	Name string
	File string // path, resolved against the config's folder
	Env  string // environment variable, e.g. KIOSKD_BITBADGES_API_KEY
}

// ReadSecret returns the secret's value ("" when neither source is set) and a
// warning when the file is readable by everyone. Under systemd, a relative
// file name is looked up in $CREDENTIALS_DIRECTORY first (LoadCredential=).
//
// Its errors name the config key, never the setting's value: a venue may
// have pasted the secret itself where its file's name belongs, and an error
// travels to the journal and the status page. The file must be a regular
// file of at most MaxSecretBytes: a device or a FIFO is refused without
// being read (a FIFO is opened non-blocking, so a missing writer cannot
// hang start-up).
func ReadSecret(s Secret) (value string, warning string, err error) {
	if s.Env != "" {
		if v, ok := os.LookupEnv(s.Env); ok && v != "" {
			return strings.TrimSpace(v), "", nil
		}
	}
	if s.File == "" {
		return "", "", nil
	}
	path := s.File
	if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" && s.Name != "" && !strings.ContainsRune(s.Name, '/') {
		if cred := dir + "/" + s.Name; fileExists(cred) {
			path = cred
		}
	}
	b, err := ReadFile(path, MaxSecretBytes)
	switch {
	case errors.Is(err, ErrNotRegular):
		return "", "", fmt.Errorf("%s: the file it names is %w; put the secret in a plain file", s.Key, err)
	case errors.Is(err, ErrFileTooLarge):
		return "", "", fmt.Errorf("%s: the file it names is larger than %d KiB: not a secret", s.Key, MaxSecretBytes>>10)
	case err != nil:
		return "", "", secretErr(s, "cannot read the file it names", err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o004 != 0 {
		warning = fmt.Sprintf("%s: %s is readable by every user; chmod 600 it", s.Key, path)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", warning, fmt.Errorf("%s: the file it names is empty", s.Key)
	}
	return v, warning, nil
}

// secretErr reports a failure on a secret's file without its name: only the
// system's reason (a *PathError would quote the path, which may be the
// secret pasted in place of a file name).
func secretErr(s Secret, doing string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	hint := ""
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ENAMETOOLONG) {
		hint = " (the value is not shown: if it is the secret itself, put it in a file and give that file's name here)"
	}
	return fmt.Errorf("%s: %s: %w%s", s.Key, doing, err, hint)
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a folder"
	}
	return "not a plain file"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
