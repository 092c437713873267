package host

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrUnverified reports a third-party plugin that has no recorded checksum,
// or whose binary no longer matches it. Such a plugin is never started
// (unless Config.AllowUnverified).
var ErrUnverified = errors.New("plugin not verified")

// ChecksumSuffix names the file beside a plugin that records its approved
// SHA-256, in sha256sum's format ("HEX  NAME").
const ChecksumSuffix = ".sha256"

// Trust is a plugin binary's standing against its recorded checksum.
type Trust string

// The standings.
const (
	TrustOK       Trust = "ok"       // matches its recorded checksum
	TrustMissing  Trust = "missing"  // no checksum recorded
	TrustMismatch Trust = "mismatch" // changed since it was approved
)

// fileSHA256 returns the SHA-256 of a file's contents.
func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// recordedSHA256 reads the checksum recorded beside a plugin binary.
func recordedSHA256(path string) ([]byte, error) {
	data, err := os.ReadFile(path + ChecksumSuffix)
	if err != nil {
		return nil, err
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return nil, fmt.Errorf("%s%s is empty", path, ChecksumSuffix)
	}
	sum, err := hex.DecodeString(fields[0])
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("%s%s does not hold a SHA-256", path, ChecksumSuffix)
	}
	return sum, nil
}

// VerifyPlugin checks a plugin binary against its recorded checksum and
// returns its standing and the recorded sum (nil when missing).
func VerifyPlugin(path string) (Trust, []byte, error) {
	want, err := recordedSHA256(path)
	if errors.Is(err, os.ErrNotExist) {
		return TrustMissing, nil, nil
	}
	if err != nil {
		return TrustMismatch, nil, err
	}
	got, err := fileSHA256(path)
	if err != nil {
		return TrustMismatch, want, err
	}
	if string(got) != string(want) {
		return TrustMismatch, want, nil
	}
	return TrustOK, want, nil
}

// InstallPlugin copies the plugin executable src into dir (created if
// needed) and records its SHA-256 beside it, approving it. An existing
// plugin of the same file name is replaced only with replace set. It
// returns the installed path.
func InstallPlugin(src, dir string, replace bool) (string, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", src)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if _, err := os.Stat(dst); err == nil && !replace {
		return "", fmt.Errorf("%s is already installed (replace it with --force)", dst)
	}
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(src)+".*.tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), in); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil)) + "  " + filepath.Base(dst) + "\n"
	if err := os.WriteFile(dst+ChecksumSuffix+".tmp", []byte(sum), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", err
	}
	if err := os.Rename(dst+ChecksumSuffix+".tmp", dst+ChecksumSuffix); err != nil {
		return "", err
	}
	return dst, nil
}

// pluginEnv is the environment a third-party plugin starts with: the
// executable search path, the temporary directory and the Go garbage
// collector's settings, nothing else of the host's (no tokens, keys or
// credentials it may hold).
func pluginEnv() []string {
	env := []string{}
	for _, k := range []string{"PATH", "TMPDIR", "GOGC", "GOMEMLIMIT"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
