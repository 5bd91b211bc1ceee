// Command launcher is the executable part of a tpm_quote plugin in a self-contained plugin directory
// (dist/tpm_quote/). It is a static program, so it starts in a root filesystem without libc or node.
//
// The plugin file is this launcher followed by a payload (the plugin's JavaScript bundle), a JSON
// manifest and a fixed trailer. The manifest pins, by SHA-256, every file the launcher loads from the
// plugin directory (the dynamic loader, node and node's libraries), so SPIRE's plugin_checksum over this
// one file pins node, its libraries and the plugin code. The launcher checks each pinned file (its hashing
// skipped when a root-owned record says every file is in the very state it was last verified in:
// verifycache.go), then replaces itself (same pid: go-plugin's signals reach node) with
//
//	<dir>/lib/ld-linux-x86-64.so.2 --inhibit-cache --library-path <dir>/lib <dir>/lib/node -e <bootstrap> -- <self> <payload offset> <length> <sha256> <code cache offset> <length> <sha256> <V8 flags> <node modules> [args...]
//
// and the bootstrap (bootstrap.js) reads the payload and its V8 code cache back from this file, checks their
// SHA-256, loads the node modules, sets the V8 flags (both lists from the manifest) and runs the payload.
// Any mismatch stops the start with one hclog JSON line at error level on stderr naming the file (go-plugin
// puts it in SPIRE's log as an error), and exit status 1. Unless TPM_QUOTE_LOG_LEVEL is info, warn or
// error, a debug line reports what was verified and how long it took (when started by go-plugin).
package main

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

//go:embed bootstrap.js
var bootstrap string

// The trailer is the file's last 24 bytes: manifest offset and length (uint64, little endian), then magic.
const (
	trailerMagic = "TPMQPLD1"
	trailerSize  = 24
)

// pinnedFile is one lib/ file: its size and the SHA-256 of each consecutive chunkSize bytes (what the
// launcher checks, in parallel), and the SHA-256 of the whole file (what sha256sum prints; the build
// computes both from the same bytes).
type pinnedFile struct {
	Path   string   `json:"path"` // relative to the executable's directory
	SHA256 string   `json:"sha256"`
	Size   int64    `json:"size"`
	Chunks []string `json:"chunks"`
}

// section is a byte range of the executable and its SHA-256 (checked by the bootstrap as it reads it).
type section struct {
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
	SHA256 string `json:"sha256"`
}

type manifest struct {
	Loader    string       `json:"loader"`
	LibDir    string       `json:"libDir"`
	Node      string       `json:"node"`
	V8Flags   []string     `json:"v8Flags"`
	Preload   []string     `json:"preload"`
	ChunkSize int64        `json:"chunkSize"`
	Files     []pinnedFile `json:"files"`
	Payload   section      `json:"payload"`
	CodeCache section      `json:"codeCache"` // Length 0: none
}

func (s section) args() []string {
	return []string{strconv.FormatInt(s.Offset, 10), strconv.FormatInt(s.Length, 10), s.SHA256}
}

func main() {
	self, err := selfPath()
	if err == nil {
		err = run(self)
	}
	logLine("error", fmt.Sprintf("%s: refusing to start: %v", filepath.Base(os.Args[0]), err), nil)
	os.Exit(1)
}

// logLine writes one hclog JSON line (the plugins' log format) to stderr.
func logLine(level, message string, fields map[string]any) {
	line := map[string]any{"@level": level, "@message": message,
		"@timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")}
	for k, v := range fields {
		line[k] = v
	}
	b, _ := json.Marshal(line)
	os.Stderr.Write(append(b, '\n'))
}

// selfPath is this executable's absolute path with symlinks resolved (lib/ is beside the real file):
// argv[0] when it holds a slash (SPIRE runs plugin_cmd by absolute path), else /proc/self/exe (not there
// in a bare chroot, so it is only the fallback).
func selfPath() (string, error) {
	if strings.Contains(os.Args[0], "/") {
		p, err := filepath.Abs(os.Args[0])
		if err != nil {
			return "", err
		}
		return filepath.EvalSymlinks(p)
	}
	p, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return "", fmt.Errorf("cannot find its own file: argv[0] %q has no slash and %v", os.Args[0], err)
	}
	return p, nil
}

// run returns only on failure.
func run(self string) error {
	m, rawManifest, err := readManifest(self)
	if err != nil {
		return err
	}
	dir := filepath.Dir(self)
	start := time.Now()
	if err := checkLibDir(dir, m); err != nil {
		return err
	}
	var total int64
	cached := cachedVerified(dir, m, rawManifest)
	if cached {
		for _, f := range m.Files {
			total += f.Size
		}
	} else {
		var stamps map[string][2]fileStamp
		if total, stamps, err = verifyFiles(dir, m); err != nil {
			return err
		}
		recordVerified(dir, rawManifest, stamps, start)
	}
	// The debug line is for SPIRE's log, so only a plugin started by go-plugin (which always sets
	// PLUGIN_PROTOCOL_VERSIONS) writes it; the tpm-quote CLI run from a shell stays quiet.
	switch os.Getenv("TPM_QUOTE_LOG_LEVEL") {
	case "info", "warn", "error":
	default:
		if os.Getenv("PLUGIN_PROTOCOL_VERSIONS") == "" {
			break
		}
		logLine("debug", "launcher: plugin directory verified", map[string]any{"@module": "launcher",
			"files": len(m.Files), "bytes": total, "verify_ms": float64(time.Since(start).Microseconds()) / 1000,
			"cached": cached})
	}
	loader := filepath.Join(dir, m.Loader)
	argv := []string{loader, "--inhibit-cache", "--library-path", filepath.Join(dir, m.LibDir), filepath.Join(dir, m.Node),
		"-e", bootstrap, "--", self}
	argv = append(argv, m.Payload.args()...)
	argv = append(argv, m.CodeCache.args()...)
	argv = append(argv, strings.Join(m.V8Flags, " "), strings.Join(m.Preload, ","))
	argv = append(argv, os.Args[1:]...)
	err = syscall.Exec(loader, argv, pluginEnv(os.Environ()))
	return fmt.Errorf("exec %s: %v", m.Loader, err)
}

// readManifest reads the manifest named by the trailer at the end of the file self; returns it parsed and raw.
func readManifest(self string) (*manifest, []byte, error) {
	f, err := os.Open(self)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	var t [trailerSize]byte
	if st.Size() < trailerSize {
		return nil, nil, fmt.Errorf("%s has no plugin trailer (file too short)", self)
	}
	if _, err := f.ReadAt(t[:], st.Size()-trailerSize); err != nil {
		return nil, nil, fmt.Errorf("%s: reading its trailer: %v", self, err)
	}
	if string(t[16:]) != trailerMagic {
		return nil, nil, fmt.Errorf("%s has no plugin trailer (magic %q missing)", self, trailerMagic)
	}
	off := binary.LittleEndian.Uint64(t[0:8])
	n := binary.LittleEndian.Uint64(t[8:16])
	if n > 1<<20 || off+n+trailerSize != uint64(st.Size()) {
		return nil, nil, fmt.Errorf("%s: trailer gives manifest offset %d length %d, not a fit for a %d-byte file", self, off, n, st.Size())
	}
	raw := make([]byte, n)
	if _, err := f.ReadAt(raw, int64(off)); err != nil {
		return nil, nil, fmt.Errorf("%s: reading its manifest: %v", self, err)
	}
	var m manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, nil, fmt.Errorf("%s: manifest: %v", self, err)
	}
	if m.Loader == "" || m.Node == "" || m.LibDir == "" || m.ChunkSize <= 0 || m.Payload.Length <= 0 || len(m.Payload.SHA256) != 64 ||
		m.CodeCache.Length < 0 || (m.CodeCache.Length > 0 && len(m.CodeCache.SHA256) != 64) {
		return nil, nil, fmt.Errorf("%s: manifest lacks loader, node, libDir or payload", self)
	}
	for _, f := range m.V8Flags {
		if !strings.HasPrefix(f, "--") || strings.ContainsAny(f, " \x00") {
			return nil, nil, fmt.Errorf("%s: manifest V8 flag %q is not a --option", self, f)
		}
	}
	for _, name := range m.Preload {
		if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_/") != "" {
			return nil, nil, fmt.Errorf("%s: manifest preload %q is not a node module name", self, name)
		}
	}
	return &m, raw, nil
}

// checkLibDir checks that the library directory holds only pinned files and that the loader and node are
// pinned: the loader searches subdirectories of --library-path before it (glibc 2.36:
// glibc-hwcaps/x86-64-v4..v2/, tls/, x86_64/), so an unpinned entry there could replace a pinned library.
func checkLibDir(dir string, m *manifest) error {
	pinned := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		pinned[f.Path] = true
	}
	for _, p := range []string{m.Loader, m.Node} {
		if !pinned[p] {
			return fmt.Errorf("manifest does not pin %s", p)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, m.LibDir))
	if err != nil {
		return fmt.Errorf("%s: %v", m.LibDir, errors.Unwrap(err))
	}
	for _, e := range entries {
		if p := m.LibDir + "/" + e.Name(); !pinned[p] {
			return fmt.Errorf("%s is not pinned by this executable (the loader could load it): remove it", p)
		}
	}
	return nil
}

// verifyFiles checks every pinned file (verifyFile), spreading their chunks over one goroutine per CPU:
// the SHA-256 of node (~100 MB) is most of a start's time, and chunk digests let it use every core.
// Returns the total size and each file's stamp before and after its hashing, or the first failure in
// manifest order.
func verifyFiles(dir string, m *manifest) (int64, map[string][2]fileStamp, error) {
	type job struct {
		file  *os.File
		index int
		want  string
		size  int64
		err   *error
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for w := 0; w < runtime.NumCPU(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for j := range jobs {
				if err := verifyChunk(j.file, j.index, m.ChunkSize, j.size, j.want, buf); err != nil {
					*j.err = err
				}
			}
		}()
	}
	errs := make([]error, len(m.Files))
	chunkErrs := make([][]error, len(m.Files))
	files := make([]*os.File, len(m.Files))
	stamps := make(map[string][2]fileStamp, len(m.Files))
	var total int64
	for i, f := range m.Files {
		file, size, err := openPinned(dir, f, m.ChunkSize)
		if err != nil {
			errs[i] = err
			continue
		}
		defer file.Close()
		files[i] = file
		stamps[f.Path] = [2]fileStamp{fstamp(file)}
		total += size
		chunkErrs[i] = make([]error, len(f.Chunks))
		for c, want := range f.Chunks {
			jobs <- job{file, c, want, size, &chunkErrs[i][c]}
		}
	}
	close(jobs)
	wg.Wait()
	for i, f := range m.Files {
		if errs[i] != nil {
			return 0, nil, errs[i]
		}
		stamps[f.Path] = [2]fileStamp{stamps[f.Path][0], fstamp(files[i])}
		for c, err := range chunkErrs[i] {
			if err != nil {
				return 0, nil, fmt.Errorf("%s does not match the SHA-256 pinned in this executable (bytes %d.. of %d: %v)",
					f.Path, int64(c)*m.ChunkSize, f.Size, err)
			}
		}
	}
	return total, stamps, nil
}

// fstamp is the open file's stamp now (a zero stamp, which no file has, if fstat fails).
func fstamp(file *os.File) fileStamp {
	var st syscall.Stat_t
	if syscall.Fstat(int(file.Fd()), &st) != nil {
		return fileStamp{}
	}
	return stampOf(&st)
}

// openPinned opens dir/f.Path and checks that it is a regular file of the pinned size, cut into the right
// number of pinned chunks.
func openPinned(dir string, f pinnedFile, chunkSize int64) (*os.File, int64, error) {
	file, err := os.Open(filepath.Join(dir, f.Path))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %v", f.Path, errors.Unwrap(err))
	}
	st, err := file.Stat()
	if err != nil || !st.Mode().IsRegular() {
		file.Close()
		return nil, 0, fmt.Errorf("%s: not a regular file", f.Path)
	}
	if st.Size() != f.Size || int64(len(f.Chunks)) != (f.Size+chunkSize-1)/chunkSize {
		file.Close()
		return nil, 0, fmt.Errorf("%s does not match the SHA-256 pinned in this executable (size %d, pinned %d)",
			f.Path, st.Size(), f.Size)
	}
	return file, st.Size(), nil
}

// verifyChunk checks the SHA-256 of chunk index of file (chunkSize bytes, the last one shorter).
func verifyChunk(file *os.File, index int, chunkSize, size int64, want string, buf []byte) error {
	h := sha256.New()
	off := int64(index) * chunkSize
	n := min(chunkSize, size-off)
	if _, err := io.CopyBuffer(h, io.NewSectionReader(file, off, n), buf); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("sha256 %s, pinned %s", got, want)
	}
	return nil
}

// pluginEnv is SPIRE's environment minus what would make the loader or node run code this file does not
// pin: LD_* (LD_PRELOAD, LD_AUDIT, LD_LIBRARY_PATH...) and node's NODE_OPTIONS (--require, --import...),
// NODE_PATH and NODE_REPL_EXTERNAL_MODULE. NODE_EXTRA_CA_CERTS goes too: node parses that whole file at
// every start (~30 ms of CPU for a distribution's bundle), yet it could change nothing here, since the
// plugin's only TLS client (Keylime) trusts keylime.ca_path alone and node ignores the extra
// certificates whenever a `ca` is given.
func pluginEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "LD_"), k == "NODE_OPTIONS", k == "NODE_PATH", k == "NODE_REPL_EXTERNAL_MODULE",
			k == "NODE_EXTRA_CA_CERTS":
			continue
		}
		out = append(out, kv)
	}
	return out
}
