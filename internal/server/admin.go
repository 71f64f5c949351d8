package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"strait/internal/control"
	"strait/internal/hosts"
	"strait/internal/nativeapi"
)

// adminServer answers local administrative requests (account creation) on a unix
// socket in the data directory, readable only by the server's user.
type adminServer struct {
	path string
	http *http.Server
}

func startAdmin(path string, ctl *control.Control, reg *hosts.Registry, log *slog.Logger) (*adminServer, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("another strait server is running on data directory (%s answers)", path)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /accounts", func(w http.ResponseWriter, r *http.Request) {
		out, err := CreateAccount(r.Context(), ctl, r.URL.Query().Get("id"))
		answer(w, out, err)
	})
	mux.HandleFunc("GET /accounts", func(w http.ResponseWriter, r *http.Request) {
		out, err := ListAccounts(r.Context(), ctl)
		answer(w, out, err)
	})
	mux.HandleFunc("POST /accounts/{id}/keys", func(w http.ResponseWriter, r *http.Request) {
		out, err := CreateAccessKey(r.Context(), ctl, r.PathValue("id"))
		answer(w, out, err)
	})
	// The admin socket is the operator's way to the host registry (the same
	// answers as the native API's /strait/v1/hosts routes).
	mux.HandleFunc("POST /hosts/tokens", func(w http.ResponseWriter, r *http.Request) {
		var req nativeapi.CreateJoinTokenRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			answer(w, nil, fmt.Errorf("the request body is not valid JSON: %w", err))
			return
		}
		out, err := nativeapi.CreateJoinToken(r.Context(), reg, req, "admin socket")
		answer(w, out, err)
	})
	mux.HandleFunc("GET /hosts", func(w http.ResponseWriter, r *http.Request) {
		list, err := reg.HostsWithServer(r.Context())
		answer(w, nativeapi.HostsView(list), err)
	})
	mux.HandleFunc("DELETE /hosts/{id}", func(w http.ResponseWriter, r *http.Request) {
		answer(w, struct{}{}, reg.Remove(r.Context(), r.PathValue("id")))
	})
	a := &adminServer{path: path, http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin socket stopped", "err", err)
		}
	}()
	return a, nil
}

func (a *adminServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = a.http.Shutdown(ctx)
	_ = os.Remove(a.path)
}

// answer writes out as JSON, or err as a 400 with its message.
func answer(w http.ResponseWriter, out any, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
