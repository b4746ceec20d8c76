package refserver

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func init() { maps.Copy(faultEffects, callbackPageEffects) }

var (
	metaRefreshCallback = regexp.MustCompile(`<meta http-equiv="refresh" content="0;url=([^"]+)">`)
	scriptCallback      = regexp.MustCompile(`window\.location\.replace\(("[^"]+")\);`)
)

// The callbacks a page delivers: a 200 page without Location, no-store,
// whose token works on the second POST like a 308's.
var callbackPageEffects = map[string]func(t *testing.T, s *Server){
	FaultCallbackMetaRefresh: func(t *testing.T, s *Server) {
		rec := webLogin(t, s, "alice@acme.test")
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Empty(t, rec.Header().Get("Location"))
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		m := metaRefreshCallback.FindStringSubmatch(rec.Body.String())
		require.NotNil(t, m, rec.Body.String())
		fetchProfileWith(t, s, enrollBYOD, pageCallbackToken(t, strings.ReplaceAll(m[1], "&amp;", "&")))
	},
	FaultCallbackScriptNav: func(t *testing.T, s *Server) {
		rec := webLogin(t, s, "alice@acme.test")
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Empty(t, rec.Header().Get("Location"))
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		m := scriptCallback.FindStringSubmatch(rec.Body.String())
		require.NotNil(t, m, rec.Body.String())
		var loc string
		require.NoError(t, json.Unmarshal([]byte(m[1]), &loc))
		fetchProfileWith(t, s, enrollBYOD, pageCallbackToken(t, loc))
	},
	FaultCallbackInJSONBody: func(t *testing.T, s *Server) {
		clockOf(t, s).advance(totpPeriod * time.Second)
		acct := account(t, s, "alice@acme.test")
		b := newBrowser(t, s)
		assert.Equal(t, http.StatusBadRequest, b.post("https://"+MDMHost+resultPath, nil).Code, "no callback before the sign-in")
		l := b.startLogin(loginURL + "?user-identifier=alice%40acme.test")
		require.Equal(t, http.StatusSeeOther, l.password(acct.Identifier, acct.Password).Code)
		rec := l.otp(totpAt(t, acct, s.cfg.Now()))
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Empty(t, rec.Header().Get("Location"))
		assert.Contains(t, rec.Body.String(), `fetch("`+resultPath+`"`)
		res := b.post("https://"+MDMHost+resultPath, nil)
		require.Equal(t, http.StatusOK, res.Code, res.Body.String())
		assert.Equal(t, "no-store", res.Header().Get("Cache-Control"))
		var answer map[string]string
		require.NoError(t, json.Unmarshal(res.Body.Bytes(), &answer))
		fetchProfileWith(t, s, enrollBYOD, pageCallbackToken(t, answer["redirect"]))
		assert.Equal(t, http.StatusBadRequest, b.post("https://"+MDMHost+resultPath, nil).Code, "the callback is handed out once")
	},
}

func pageCallbackToken(t *testing.T, loc string) string {
	t.Helper()
	require.True(t, strings.HasPrefix(loc, callbackPrefix), loc)
	u, err := url.Parse(loc)
	require.NoError(t, err)
	token := u.Query().Get("access-token")
	require.NotEmpty(t, token)
	return token
}
