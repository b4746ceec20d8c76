package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const imageVersion = "v9.9.9-image"

// make image (scripts/image.sh) builds the static image with podman; podman
// here can build an image of COPY steps but cannot run a container, so the
// image is exported, its layers are unpacked as a runtime would, and the
// binary found inside plays the demo suite.
func TestImageBuildsAndItsBinaryPlaysTheDemo(t *testing.T) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Fatalf("podman not found: run make deps (it installs Debian's podman), or apt-get install podman")
	}
	tmp := t.TempDir()
	env := podmanEnv(t, podman, tmp)

	script := exec.Command(filepath.Join(repoRoot(t), "scripts", "image.sh"))
	script.Env = append(env, "VERSION="+imageVersion, "IMAGE_NAME=enrollsim-test")
	out, err := script.CombinedOutput()
	require.NoError(t, err, "scripts/image.sh:\n%s", out)
	assert.Contains(t, string(out), "image enrollsim-test:"+imageVersion+" (and enrollsim-test:latest) built with podman")

	archive := filepath.Join(tmp, "image.tar")
	save := exec.Command(podman, "save", "--format", "oci-archive", "-o", archive, "enrollsim-test:"+imageVersion)
	save.Env = env
	out, err = save.CombinedOutput()
	require.NoError(t, err, "podman save:\n%s", out)

	rootfs := filepath.Join(tmp, "rootfs")
	cfg, files := unpackOCIArchive(t, archive, rootfs)
	assertImageConfig(t, cfg)
	assertImageFiles(t, rootfs, files)
	assertStaticELF(t, filepath.Join(rootfs, "enrollsim"))

	bin := filepath.Join(rootfs, "enrollsim")
	got, err := exec.Command(bin, "--version").CombinedOutput()
	require.NoError(t, err, string(got))
	assert.Equal(t, "enrollsim version "+imageVersion, strings.TrimSpace(string(got)))

	// As the image runs it: its CA roots, a home and a working directory of
	// its own. Chromium comes from this machine (make deps): the demo's
	// JavaScript sign-in needs it, which the static image leaves to the
	// chromium variant.
	home, work := filepath.Join(tmp, "home"), filepath.Join(tmp, "work")
	require.NoError(t, os.MkdirAll(home, 0o755))
	require.NoError(t, os.MkdirAll(work, 0o755))
	demo := exec.Command(bin, "run", "demo")
	demo.Dir = work
	demo.Env = append(os.Environ(), "HOME="+home, "SSL_CERT_FILE="+filepath.Join(rootfs, "etc", "ssl", "certs", "ca-certificates.crt"))
	out, err = demo.CombinedOutput()
	require.NoError(t, err, "the image's binary: run demo:\n%s", tail(string(out), 4000))
	var cases, passed, failed int
	i := strings.LastIndex(string(out), "Summary: ")
	require.GreaterOrEqual(t, i, 0, "no summary line:\n%s", tail(string(out), 2000))
	_, err = fmt.Sscanf(string(out[i:]), "Summary: %d cases, %d passed, %d failed", &cases, &passed, &failed)
	require.NoError(t, err, string(out[i:]))
	assert.Positive(t, cases)
	assert.Equal(t, cases, passed, string(out[i:]))
	assert.Zero(t, failed)
}

// podmanEnv keeps every piece of podman's state in dir (storage, run
// state, temporary files; vfs, as overlay may not stack on the machine's
// own file system) and removes its images again before dir goes.
func podmanEnv(t *testing.T, podman, dir string) []string {
	storage := filepath.Join(dir, "storage.conf")
	conf := filepath.Join(dir, "containers.conf")
	tmp := filepath.Join(dir, "tmp")
	require.NoError(t, os.MkdirAll(tmp, 0o755))
	require.NoError(t, os.WriteFile(storage, fmt.Appendf(nil,
		"[storage]\ndriver = \"vfs\"\ngraphroot = %q\nrunroot = %q\n",
		filepath.Join(dir, "graph"), filepath.Join(dir, "run")), 0o644))
	require.NoError(t, os.WriteFile(conf, fmt.Appendf(nil,
		"[engine]\ntmp_dir = %q\nimage_copy_tmp_dir = %q\nevents_logger = \"none\"\ncgroup_manager = \"cgroupfs\"\n[network]\nnetwork_config_dir = %q\n",
		filepath.Join(dir, "libpod"), tmp, filepath.Join(dir, "networks")), 0o644))
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IMAGE_TOOL=") && !strings.HasPrefix(kv, "CONTAINERS_") && !strings.HasPrefix(kv, "TMPDIR=") {
			env = append(env, kv)
		}
	}
	env = append(env, "CONTAINERS_STORAGE_CONF="+storage, "CONTAINERS_CONF="+conf, "TMPDIR="+tmp)
	t.Cleanup(func() {
		// podman removes its own layers: rootless, they belong to sub-uids
		// that the test's user could not delete.
		rm := exec.Command(podman, "rmi", "--all", "--force")
		rm.Env = env
		if out, err := rm.CombinedOutput(); err != nil {
			t.Logf("podman rmi --all: %v\n%s", err, out)
		}
	})
	return env
}

func repoRoot(t *testing.T) string {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	return root
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// imageConfig is the part of an OCI image configuration a runtime acts on.
type imageConfig struct {
	User       string
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	Labels     map[string]string
}

func assertImageConfig(t *testing.T, cfg imageConfig) {
	assert.Equal(t, "65532:65532", cfg.User, "the image runs as a non-root user")
	assert.Equal(t, []string{"/enrollsim"}, cfg.Entrypoint)
	assert.Equal(t, []string{"run"}, cfg.Cmd)
	assert.Equal(t, "/work", cfg.WorkingDir)
	assert.Contains(t, cfg.Env, "HOME=/home/enrollsim")
	assert.Contains(t, cfg.Env, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt")
	for k, v := range map[string]string{
		"org.opencontainers.image.version":  imageVersion,
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.source":   "https://github.com/enrollsim/enrollsim",
		"org.opencontainers.image.title":    "enrollsim",
	} {
		assert.Equal(t, v, cfg.Labels[k], k)
	}
	assert.NotEmpty(t, cfg.Labels["org.opencontainers.image.description"])
	assert.Regexp(t, `^[0-9a-f]{40}$`, cfg.Labels["org.opencontainers.image.revision"])
}

// assertImageFiles checks the image's file system as its layers left it:
// the binary, the CA roots, the user, and the directories it may write.
func assertImageFiles(t *testing.T, rootfs string, files map[string]*tar.Header) {
	var paths []string
	for p, h := range files {
		if h.Typeflag != tar.TypeDir {
			paths = append(paths, p)
		}
	}
	assert.ElementsMatch(t, []string{"/enrollsim", "/etc/passwd", "/etc/group", "/etc/ssl/certs/ca-certificates.crt"}, paths,
		"the static image holds the binary, the user and the CA roots, and nothing else")
	if h := files["/enrollsim"]; assert.NotNil(t, h) {
		assert.Equal(t, int64(0o755), h.Mode&0o777)
	}
	if h := files["/etc/ssl/certs/ca-certificates.crt"]; assert.NotNil(t, h) {
		assert.Greater(t, h.Size, int64(10000), "a CA bundle")
	}
	for _, dir := range []string{"/home/enrollsim", "/work"} {
		if h := files[dir]; assert.NotNil(t, h, dir) {
			assert.Equal(t, 65532, h.Uid, "%s belongs to the image's user", dir)
			assert.Equal(t, 65532, h.Gid, dir)
		}
	}
	if h := files["/tmp"]; assert.NotNil(t, h) {
		assert.Equal(t, int64(0o1777), h.Mode&0o7777, "/tmp is writable by all, sticky")
	}
	// Named, as programs that look their user up (Chromium does) need.
	passwd, err := os.ReadFile(filepath.Join(rootfs, "etc", "passwd"))
	require.NoError(t, err)
	assert.Contains(t, string(passwd), "\nenrollsim:x:65532:65532:enrollsim:/home/enrollsim:/sbin/nologin\n")
	group, err := os.ReadFile(filepath.Join(rootfs, "etc", "group"))
	require.NoError(t, err)
	assert.Contains(t, string(group), "\nenrollsim:x:65532:\n")
}

func assertStaticELF(t *testing.T, bin string) {
	f, err := elf.Open(bin)
	require.NoError(t, err, "a linux binary")
	defer f.Close()
	for _, p := range f.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "a static binary: a scratch image has no dynamic loader")
	}
}

// unpackOCIArchive applies the layers of the archive's one image to dir, as
// a runtime does (whiteouts remove what lower layers added), and returns the
// image's configuration and the headers of the files it ends up with.
func unpackOCIArchive(t *testing.T, archive, dir string) (imageConfig, map[string]*tar.Header) {
	blobs := readTar(t, archive)
	var index struct {
		Manifests []struct{ Digest string }
	}
	require.NoError(t, json.Unmarshal(blobs["index.json"], &index))
	require.Len(t, index.Manifests, 1)
	var manifest struct {
		Config struct{ Digest string }
		Layers []struct {
			MediaType string
			Digest    string
		}
	}
	require.NoError(t, json.Unmarshal(blob(t, blobs, index.Manifests[0].Digest), &manifest))
	var config struct{ Config imageConfig }
	require.NoError(t, json.Unmarshal(blob(t, blobs, manifest.Config.Digest), &config))

	files := map[string]*tar.Header{}
	for _, l := range manifest.Layers {
		layer := blob(t, blobs, l.Digest)
		var r io.Reader = bytes.NewReader(layer)
		if bytes.HasPrefix(layer, []byte{0x1f, 0x8b}) {
			gz, err := gzip.NewReader(r)
			require.NoError(t, err, l.MediaType)
			r = gz
		}
		require.NoError(t, applyLayer(tar.NewReader(r), dir, files), l.Digest)
	}
	return config.Config, files
}

func readTar(t *testing.T, name string) map[string][]byte {
	f, err := os.Open(name)
	require.NoError(t, err)
	defer f.Close()
	out := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			out[filepath.Clean(h.Name)] = b
		}
	}
}

func blob(t *testing.T, blobs map[string][]byte, digest string) []byte {
	algo, hex, ok := strings.Cut(digest, ":")
	require.True(t, ok, digest)
	b, ok := blobs[filepath.Join("blobs", algo, hex)]
	require.True(t, ok, "the archive lacks blob %s", digest)
	return b
}

func applyLayer(tr *tar.Reader, dir string, files map[string]*tar.Header) error {
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		// Rooted and cleaned, a name cannot climb out of dir.
		name := filepath.Clean("/" + h.Name)
		parent, base := filepath.Split(name)
		if base == ".wh..wh..opq" {
			removeBelow(files, dir, filepath.Clean(parent))
			continue
		}
		if whited, ok := strings.CutPrefix(base, ".wh."); ok {
			target := filepath.Join(parent, whited)
			removeBelow(files, dir, target)
			delete(files, target)
			if err := os.RemoveAll(filepath.Join(dir, target)); err != nil {
				return err
			}
			continue
		}
		files[name] = h
		if err := writeEntry(tr, h, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
}

// removeBelow forgets what lies under dir (not dir itself).
func removeBelow(files map[string]*tar.Header, root, dir string) {
	for p := range files {
		if strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/") {
			delete(files, p)
			_ = os.RemoveAll(filepath.Join(root, p))
		}
	}
}

func writeEntry(r io.Reader, h *tar.Header, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return os.MkdirAll(path, 0o755)
	case tar.TypeSymlink:
		return os.Symlink(h.Linkname, path)
	case tar.TypeReg:
		f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, os.FileMode(h.Mode&0o777)|0o200)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return nil // devices and the like: a scratch image has none
}

// image.sh tells how to get podman rather than failing obscurely.
func TestImageScriptSaysHowToGetPodman(t *testing.T) {
	bash, err := exec.LookPath("bash")
	require.NoError(t, err)
	cmd := exec.Command(bash, filepath.Join(repoRoot(t), "scripts", "image.sh"))
	cmd.Env = []string{"PATH=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, string(out))
	assert.Equal(t, 1, exit.ExitCode())
	assert.Equal(t, "podman not found: run make deps (it installs Debian's podman), or set IMAGE_TOOL=docker\n", string(out))
}

// Containerfile.chromium cannot be built here (it pulls a Debian base and
// runs apt-get); read as text, it keeps to the static image's binary, user,
// entrypoint, environment and labels, and installs Debian's Chromium.
func TestChromiumContainerfileMatchesTheStaticOne(t *testing.T) {
	static := containerfile(t, "Containerfile")
	chromium := containerfile(t, "Containerfile.chromium")

	assert.Equal(t, []string{"scratch"}, static["FROM"])
	for op := range static {
		assert.Contains(t, []string{"FROM", "ARG", "COPY", "ENV", "WORKDIR", "USER", "LABEL", "ENTRYPOINT", "CMD"}, op,
			"the static image only copies and sets metadata: podman here cannot run a step")
	}
	require.Len(t, chromium["FROM"], 1)
	assert.Regexp(t, `^(docker\.io/library/)?debian:[a-z]+-slim$`, chromium["FROM"][0])
	require.Len(t, chromium["RUN"], 1)
	run := chromium["RUN"][0]
	assert.Regexp(t, `apt-get install -y --no-install-recommends .*\bchromium\b`, run)
	assert.Contains(t, run, "ca-certificates")
	assert.Contains(t, run, "useradd --uid 65532 --gid 65532 --home-dir /home/enrollsim")
	assert.Contains(t, run, "install -d -o 65532 -g 65532 /work")

	for _, op := range []string{"USER", "ENTRYPOINT", "CMD", "ENV", "WORKDIR", "ARG"} {
		assert.Equal(t, static[op], chromium[op], op)
	}
	assert.Contains(t, static["COPY"], "enrollsim /enrollsim")
	assert.Equal(t, []string{"enrollsim /enrollsim"}, chromium["COPY"], "the same binary, from the same build context")

	sl, cl := labels(static["LABEL"]), labels(chromium["LABEL"])
	assert.Len(t, sl, 6)
	for k, v := range sl {
		switch k {
		case "org.opencontainers.image.title", "org.opencontainers.image.description":
			assert.True(t, strings.HasPrefix(cl[k], v), "%s: %q extends %q", k, cl[k], v)
		default:
			assert.Equal(t, v, cl[k], k)
		}
	}
	assert.Len(t, cl, len(sl))
}

// containerfile reads a Containerfile of the repository's root as its
// instructions' arguments by instruction, continuation lines joined.
func containerfile(t *testing.T, name string) map[string][]string {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), name))
	require.NoError(t, err)
	out := map[string][]string{}
	var pending string
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && pending == "") {
			continue
		}
		if cont, ok := strings.CutSuffix(trimmed, "\\"); ok {
			pending += cont + " "
			continue
		}
		full := strings.Join(strings.Fields(pending+trimmed), " ")
		pending = ""
		op, args, _ := strings.Cut(full, " ")
		out[op] = append(out[op], args)
	}
	require.Empty(t, pending, "%s ends in a continuation", name)
	return out
}

var labelRe = regexp.MustCompile(`([a-z.]+)="([^"]*)"`)

func labels(instructions []string) map[string]string {
	out := map[string]string{}
	for _, in := range instructions {
		for _, m := range labelRe.FindAllStringSubmatch(in, -1) {
			out[m[1]] = m[2]
		}
	}
	return out
}
