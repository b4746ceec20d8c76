package refserver

import (
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Close ends socat and the children it forked for open connections, and
// removes the key, certificate and config it read.
func TestTLS12NoEMSCloseCleansUp(t *testing.T) {
	s, err := Start(Config{Faults: []string{FaultTLS12NoEMS}})
	require.NoError(t, err)
	dir, pid := s.ems.dir, s.ems.cmd.Process.Pid
	for _, name := range []string{"chain.pem", "key.pem", "openssl.cnf"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), name)
	}
	// An open connection: socat has forked a child for it.
	c := dialTLS(t, s, MDMHost, tls.VersionTLS12)
	resp, _ := getOver(t, c, mdmWK+aliceQ)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	// And one straight to socat, which no splice of the server's ends.
	raw, err := net.DialTimeout("tcp", s.ems.addr, 5*time.Second)
	require.NoError(t, err)
	direct := tls.Client(raw, &tls.Config{RootCAs: s.CertPool(), ServerName: MDMHost})
	defer direct.Close()
	require.NoError(t, direct.SetDeadline(time.Now().Add(10*time.Second)))
	require.NoError(t, direct.Handshake())
	assert.GreaterOrEqual(t, len(liveGroupMembers(t, pid)), 3, "socat and the children of the two open connections")

	require.NoError(t, s.Close())
	_, err = os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "temporary folder %s left: %v", dir, err)
	assert.Empty(t, liveGroupMembers(t, pid), "socat's processes outlive Close")
	_, err = c.Read(make([]byte, 1))
	assert.Error(t, err, "the spliced connection outlives Close")
	_, err = direct.Read(make([]byte, 1))
	assert.Error(t, err, "socat's child outlives Close")
}

// liveGroupMembers lists the processes of process group pgid that are not
// zombies (a killed child may wait for a reaper that a container lacks).
func liveGroupMembers(t *testing.T, pgid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // ended meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces or ')'.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		f := strings.Fields(rest)
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// A socat that fails says why in Start's error, and leaves no files.
func TestTLS12NoEMSSocatFails(t *testing.T) {
	bin := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bin, "socat"), []byte("#!/bin/sh\necho 'E cannot open the certificate' >&2\nexit 1\n"), 0o700))
	t.Setenv("PATH", bin)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	_, err := Start(Config{Faults: []string{FaultTLS12NoEMS}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "socat exited before listening")
	assert.Contains(t, err.Error(), "E cannot open the certificate")
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left, "temporary files outlive the failed start")
}
