package config

import (
	"fmt"

	"os"
	"strings"
)

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
	st, err := os.Stat(path)
	if err != nil {
		// The error names the path, never the content; but a venue may have
		// written the secret itself where its file's name belongs, and the
		// path would then be the secret.
		if looksLikeSecret(s.Name) {
			return "", "", fmt.Errorf("%s: no such file (the %d-character value is not shown: if it is the secret itself, "+
				"put it in a file and give that file's name here)", s.Key, len(s.Name))
		}
		return "", "", fmt.Errorf("%s: %w", s.Key, err)
	}
	if st.Mode().Perm()&0o004 != 0 {
		warning = fmt.Sprintf("%s: %s is readable by every user; chmod 600 it", s.Key, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", s.Key, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", warning, fmt.Errorf("%s: %s is empty", s.Key, path)
	}
	return v, warning, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// looksLikeSecret reports whether a *_file value is more likely a pasted key
// or token than a file name: long, no folder, no extension, no spaces. A
// credential name like "api_key" or a path like /etc/kioskd/api_key is not.
func looksLikeSecret(name string) bool {
	if len(name) < 20 || strings.ContainsAny(name, "/. ") {
		return false
	}
	return true
}
