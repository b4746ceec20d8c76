package weblogin_test

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/weblogin"
)

// leaky is a careless legacy server: its sign-in form uses GET, so the
// password lands in the URL, and its error messages echo what was typed.
type leaky struct {
	t              *testing.T
	password, code string
	action         template.URL // where the form submits; the server's own /check by default
}

const (
	leakySID   = "sid-6b1f0e2d9c8a7b6a5f4e"
	leakyAuth  = "auth-0f1e2d3c4b5a69788796"
	leakyFinal = "final-a1b2c3d4e5f60718293a"
)

func (l *leaky) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: leakySID, Path: "/"})
		action := l.action
		if action == "" {
			action = "/check"
		}
		render(l.t, w, http.StatusOK, "get_form.html", pageData{CSRF: "csrf-1", Action: action})
	})
	mux.HandleFunc("GET /check", func(w http.ResponseWriter, r *http.Request) {
		if pass := r.URL.Query().Get("pass"); pass != l.password {
			render(l.t, w, http.StatusOK, "get_form.html", pageData{CSRF: "csrf-1", Action: "/check", Error: "Wrong password " + pass + " for " + r.URL.Query().Get("user")})
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "auth", Value: leakyAuth, Path: "/"})
		http.Redirect(w, r, "/verify", http.StatusFound)
	})
	mux.HandleFunc("GET /verify", func(w http.ResponseWriter, r *http.Request) {
		render(l.t, w, http.StatusOK, "totp.html", pageData{CSRF: "csrf-2"})
	})
	mux.HandleFunc("POST /verify", func(w http.ResponseWriter, r *http.Request) {
		if code := formOf(l.t, r).Get("verification_code"); code != l.code {
			render(l.t, w, http.StatusOK, "totp.html", pageData{CSRF: "csrf-2", Error: "Code " + code + " is not valid (session " + cookie(r, "sid") + ")"})
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "final", Value: leakyFinal, Path: "/"})
		// Too short to scrub from text, so only structural redaction hides it.
		http.SetCookie(w, &http.Cookie{Name: "v", Value: "ab1", Path: "/"})
		w.Header().Set("Location", callbackURL("leaky-token"))
		w.WriteHeader(http.StatusPermanentRedirect)
	})
	return mux
}

func TestSecretsStayOut(t *testing.T) {
	const password, code = "s3cr3t pass&word=1%", "318204"
	secrets := []string{password, code, leakySID, leakyAuth, leakyFinal}

	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := "http://mdm.test:" + strings.TrimPrefix(hostOf(closed.URL), "127.0.0.1:")
	closed.Close()

	tests := []struct {
		name     string
		server   leaky
		wantErr  bool
		wantText string // proof that the secret was there to leak
	}{
		{name: "success", server: leaky{password: password, code: code}, wantText: "pass=[redacted]"},
		{name: "wrong password echoed", server: leaky{password: "other", code: code}, wantErr: true, wantText: "Wrong password [redacted] for user01@example.com"},
		{name: "wrong code echoed", server: leaky{password: password, code: "000000"}, wantErr: true, wantText: "Code [redacted] is not valid (session [redacted])"},
		{name: "transport error on a GET form", server: leaky{password: password, code: code, action: template.URL(closedURL + "/check")}, wantErr: true, wantText: "pass=[redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.server.t = t
			req := baseRequest(serve(t, "mdm.test", tt.server.handler()) + "/login")
			req.Password = password
			calls := 0
			req.OTP = fixedOTP(code, &calls)
			var received []string
			req.OnSecret = func(v string) { received = append(received, v) }

			res, err := weblogin.Login(context.Background(), newRecorder(t).Fetch, req)

			require.Equal(t, tt.wantErr, err != nil, "error: %v", err)
			texts := []string{fmt.Sprintf("%+v", res), fmt.Sprintf("%v", res.CallbackHeader), strings.Join(res.Trail, "\n")}
			if err != nil {
				texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
			}
			var e *weblogin.Error
			if errors.As(err, &e) {
				texts = append(texts, strings.Join(e.Trail, "\n"), fmt.Sprintf("%+v", *e))
			}
			all := strings.Join(texts, "\n")
			for _, secret := range secrets {
				assert.NotContains(t, all, secret)
			}
			assert.NotContains(t, all, "s3cr3t+pass%26word%3D1%25", "the query-escaped password")
			assert.Contains(t, all, tt.wantText)
			assert.Contains(t, received, leakySID, "OnSecret sees cookie values")
		})
	}
}

func TestCallbackHeaderRedactsCookies(t *testing.T) {
	const password, code = "pw-123456", "318204"
	server := leaky{t: t, password: password, code: code}
	req := baseRequest(serve(t, "mdm.test", server.handler()) + "/login")
	req.Password = password
	calls := 0
	req.OTP = fixedOTP(code, &calls)

	res, err := weblogin.Login(context.Background(), newRecorder(t).Fetch, req)

	require.NoError(t, err)
	assert.Equal(t, []string{"final=[redacted]; Path=/", "v=[redacted]; Path=/"}, res.CallbackHeader.Values("Set-Cookie"))
	assert.Equal(t, callbackURL("leaky-token"), res.CallbackHeader.Get("Location"))
}
