package agentapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"strait/internal/model"
	"strait/internal/placement"
)

// state answers the host's part newer than ?after=REV, waiting up to PollWait
// for one (nil, written as 204, when none came).
func (s *Server) state(r *http.Request, host model.Host, _ []byte) (any, error) {
	if err := s.leading(); err != nil {
		return nil, err
	}
	if s.fleet == nil {
		return nil, noDataplane()
	}
	var after uint64
	if a := r.URL.Query().Get("after"); a != "" {
		var err error
		if after, err = strconv.ParseUint(a, 10, 64); err != nil {
			return nil, &Error{Status: http.StatusBadRequest, ErrorDetail: ErrorDetail{Code: "InvalidParameterValue", Message: "after must be a revision (a non-negative integer), not " + strconv.Quote(a)}}
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.pollWait)
	defer cancel()
	u, ok := <-s.fleet.Watch(ctx, host.ID, after)
	if !ok {
		return nil, nil
	}
	return StateResponse{Revision: u.Revision, State: u.State}, nil
}

// report takes what the host realized of a revision, and its traffic.
func (s *Server) report(_ *http.Request, host model.Host, body []byte) (any, error) {
	if err := s.leading(); err != nil {
		return nil, err
	}
	if s.fleet == nil {
		return nil, noDataplane()
	}
	var rep StateReport
	if err := decode(body, &rep); err != nil {
		return nil, err
	}
	for _, h := range rep.Health {
		if !model.IsTargetHealthState(h.Health.State) {
			return nil, &Error{Status: http.StatusBadRequest, ErrorDetail: ErrorDetail{Code: "InvalidParameterValue",
				Message: fmt.Sprintf("target %s of %s: %q is not a target health state", h.Target, h.TargetGroup, h.Health.State)}}
		}
	}
	s.fleet.Report(host.ID, placement.NewReport(rep.Revision, rep.Ready, rep.Present), rep.Epoch, rep.Traffic, rep.Health)
	return struct{}{}, nil
}

func noDataplane() error {
	return &Error{Status: http.StatusServiceUnavailable, ErrorDetail: ErrorDetail{Code: CodeNoDataplane,
		Message: "This server runs without a data plane (--dataplane=none): it has no part of the region's state for hosts"}}
}

// maxState bounds the size of a host's part the agent reads.
const maxState = 256 << 20

// State long-polls the host's part newer than after: ok is false when none
// came within the server's poll wait.
func (c *Client) State(ctx context.Context, after uint64) (StateResponse, bool, error) {
	var out StateResponse
	var ok bool
	err := c.each(ctx, func(server string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+PathState+"?after="+strconv.FormatUint(after, 10), nil)
		if err != nil {
			return err
		}
		resp, err := c.current().poll.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusNoContent:
			return nil
		case http.StatusOK:
			err := json.NewDecoder(io.LimitReader(resp.Body, maxState)).Decode(&out)
			ok = err == nil
			return err
		}
		return responseError(resp, PathState)
	})
	return out, ok, err
}

// Report sends what the host realized of a revision.
func (c *Client) Report(ctx context.Context, rep StateReport) error {
	return c.each(ctx, func(server string) error { return call(ctx, c.current().http, server+PathReport, rep, &struct{}{}) })
}
