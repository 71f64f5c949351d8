package model

import (
	"errors"
	"fmt"
)

// Sentinel errors of the domain. API adapters translate them, together with the
// resource kind of an *Error, into the AWS error code of their protocol.
var (
	ErrNotFound       = errors.New("not found")
	ErrDuplicate      = errors.New("already exists")
	ErrInvalid        = errors.New("invalid parameter value")
	ErrMissing        = errors.New("missing parameter")
	ErrInUse          = errors.New("resource in use")
	ErrIncorrectState = errors.New("incorrect state")
	ErrUnauthorized   = errors.New("unauthorized operation")
	ErrLimit          = errors.New("limit exceeded")
	ErrUnsupported    = errors.New("unsupported")
	ErrConflict       = errors.New("conflict")
	// ErrUnavailable is a temporary failure of the server, not of the
	// request: its state store could not answer in time (no quorum). The
	// APIs answer it with HTTP 503.
	ErrUnavailable = errors.New("service unavailable")
)

// Error is a domain error: a sentinel (Err), the kind of resource it concerns (Kind,
// one of the Kind* constants, may be empty), the offending ID or value, and a message
// for humans. Reason, when set, says more precisely why (for example
// ReasonDomainTaken); each API's translation table turns it into that API's code.
type Error struct {
	Err    error
	Kind   string
	ID     string
	Reason Reason
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap lets errors.Is match the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// NotFound reports that the resource kind with the given ID does not exist (or is not
// visible to the caller).
func NotFound(kind, id string) *Error {
	return &Error{Err: ErrNotFound, Kind: kind, ID: id, Msg: fmt.Sprintf("The %s ID '%s' does not exist", KindNames[kind], id)}
}

// Invalid reports a bad parameter value.
func Invalid(format string, args ...any) *Error {
	return &Error{Err: ErrInvalid, Msg: fmt.Sprintf(format, args...)}
}

// InvalidKind reports a malformed ID or value of the given resource kind.
func InvalidKind(kind, id, format string, args ...any) *Error {
	return &Error{Err: ErrInvalid, Kind: kind, ID: id, Msg: fmt.Sprintf(format, args...)}
}

// Missing reports a required parameter that was not given.
func Missing(param string) *Error {
	return &Error{Err: ErrMissing, ID: param, Msg: fmt.Sprintf("The request must contain the parameter %s", param)}
}

// Duplicate reports a name or value that must be unique and is not.
func Duplicate(kind, id, format string, args ...any) *Error {
	return &Error{Err: ErrDuplicate, Kind: kind, ID: id, Msg: fmt.Sprintf(format, args...)}
}

// InUse reports a resource that cannot be changed or deleted because others depend on it.
func InUse(kind, id, format string, args ...any) *Error {
	return &Error{Err: ErrInUse, Kind: kind, ID: id, Msg: fmt.Sprintf(format, args...)}
}

// BadState reports an operation that the resource's current state does not allow.
func BadState(kind, id, format string, args ...any) *Error {
	return &Error{Err: ErrIncorrectState, Kind: kind, ID: id, Msg: fmt.Sprintf(format, args...)}
}

// Missingf reports a required parameter (or one of several) that was not given,
// in words of its own.
func Missingf(format string, args ...any) *Error {
	return &Error{Err: ErrMissing, Msg: fmt.Sprintf(format, args...)}
}

// Unsupported reports a feature Strait does not offer.
func Unsupported(format string, args ...any) *Error {
	return &Error{Err: ErrUnsupported, Msg: fmt.Sprintf(format, args...)}
}

// WithReason is an error with a sentinel and the precise reason behind it.
func WithReason(sentinel error, reason Reason, format string, args ...any) *Error {
	return &Error{Err: sentinel, Reason: reason, Msg: fmt.Sprintf(format, args...)}
}
