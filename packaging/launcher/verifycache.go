package main

// The verification cache: a root-owned record, per manifest, of the identity and change times of each lib/
// file as they were when their SHA-256 last matched, so that later starts can skip hashing ~100 MB while
// no file has changed. A file's content cannot change without its ctime changing (the kernel sets it on
// every write, truncate, chmod or rename onto it, and only root can set the clock back), and a replaced file
// has another inode. It is kept only for files whose ctime was already older than the start by
// cacheMinAge (a write in the same clock tick as the recorded ctime could otherwise leave it unchanged) and
// that did not change while they were hashed. Off with TPM_QUOTE_VERIFY_CACHE=off. See docs/packaging.md.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// cacheDir is in /run (a tmpfs emptied at boot), made by the launcher when run as root.
const (
	cacheParent = "/run"
	cacheDir    = "/run/tpm_quote"
	cacheMinAge = 2 * time.Second
)

// fileStamp identifies one state of a file: a different inode, size, mtime or ctime is another state.
type fileStamp struct {
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime_ns"`
	Ctime int64  `json:"ctime_ns"`
}

func stampOf(st *syscall.Stat_t) fileStamp {
	return fileStamp{Dev: st.Dev, Ino: st.Ino, Size: st.Size, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}
}

func cacheEnabled() bool { return os.Getenv("TPM_QUOTE_VERIFY_CACHE") != "off" }

// cacheFile is the record for the manifest whose raw bytes are given (the manifest pins every digest) as
// installed in dir (two copies of one plugin directory keep one record each).
func cacheFile(dir string, rawManifest []byte) string {
	h := sha256.New()
	h.Write([]byte(dir))
	h.Write([]byte{0})
	h.Write(rawManifest)
	return filepath.Join(cacheDir, hex.EncodeToString(h.Sum(nil))+".json")
}

// rootOnly reports whether path (not followed if a symlink) is owned by root, writable by no one else,
// and a directory or a regular file as wanted.
func rootOnly(path string, dir bool) bool {
	var st syscall.Stat_t
	if syscall.Lstat(path, &st) != nil || st.Uid != 0 || st.Mode&0o022 != 0 {
		return false
	}
	if dir {
		return st.Mode&syscall.S_IFMT == syscall.S_IFDIR
	}
	return st.Mode&syscall.S_IFMT == syscall.S_IFREG
}

// cachedVerified reports whether the cache holds, for this manifest, exactly the current stamp of every
// pinned file. Any doubt (no record, not root-owned, unreadable, one differing field) is a miss.
func cachedVerified(dir string, m *manifest, rawManifest []byte) bool {
	file := cacheFile(dir, rawManifest)
	if !cacheEnabled() || !rootOnly(cacheParent, true) || !rootOnly(cacheDir, true) || !rootOnly(file, false) {
		return false
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	var recorded map[string]fileStamp
	if json.Unmarshal(raw, &recorded) != nil || len(recorded) != len(m.Files) {
		return false
	}
	for _, f := range m.Files {
		var st syscall.Stat_t
		want, ok := recorded[f.Path]
		if !ok || syscall.Stat(filepath.Join(dir, f.Path), &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG ||
			stampOf(&st) != want {
			return false
		}
	}
	return true
}

// recordVerified writes the cache record after a full check, when run as root and every file qualifies
// (stamp unchanged across its hashing, ctime older than start by cacheMinAge). Best effort: a failure
// only means the next start hashes again.
func recordVerified(dir string, rawManifest []byte, stamps map[string][2]fileStamp, start time.Time) {
	if !cacheEnabled() || os.Geteuid() != 0 || !rootOnly(cacheParent, true) {
		return
	}
	recorded := make(map[string]fileStamp, len(stamps))
	for path, s := range stamps {
		if s[0] == (fileStamp{}) || s[0] != s[1] || start.Sub(time.Unix(0, s[0].Ctime)) < cacheMinAge {
			return
		}
		recorded[path] = s[0]
	}
	if err := os.Mkdir(cacheDir, 0o755); err != nil && !os.IsExist(err) {
		return
	}
	if !rootOnly(cacheDir, true) {
		return
	}
	raw, err := json.Marshal(recorded)
	if err != nil {
		return
	}
	tmp, err := os.CreateTemp(cacheDir, ".record-*")
	if err != nil {
		return
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil || tmp.Chmod(0o644) != nil || tmp.Close() != nil {
		tmp.Close()
		return
	}
	os.Rename(tmp.Name(), cacheFile(dir, rawManifest))
}
