package testenv

import (
	"fmt"
	"net/http"
	"time"
)

// Healthz is the status code of the server's GET /healthz (0 when it cannot be
// reached).
func (e *Env) Healthz() int {
	resp, err := http.Get(e.Server.URL() + "/healthz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// WaitReady polls /healthz until it answers 200 (for up to two minutes), as a
// client of a starting server does.
func (e *Env) WaitReady() {
	e.T.Helper()
	Eventually(e.T, 2*time.Minute, "/healthz answering 200", func() error {
		if code := e.Healthz(); code != http.StatusOK {
			return fmt.Errorf("status %d", code)
		}
		return nil
	})
}
