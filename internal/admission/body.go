package admission

import (
	"errors"
	"io"
	"sync/atomic"
)

// Request bodies are read whole into memory before the signature can be
// checked (SigV4 signs the body), so an unauthenticated client decides how
// much memory its requests hold. Each request may read FreeBodyBytes on its
// own — API requests are a few KB, and the connection cap bounds how many
// read at once — and draws what it reads beyond from a budget shared by all
// requests being read; a read the budget cannot cover fails with ErrBusy,
// which the APIs answer with 503 ServiceUnavailable (the SDKs retry it).

// FreeBodyBytes is what a request body may hold without drawing on the budget.
const FreeBodyBytes = 64 << 10

// DefaultBodyBytes is the shared budget of request body bytes.
const DefaultBodyBytes = 64 << 20

// ErrBusy fails a request body read when the shared body budget is spent.
var ErrBusy = errors.New("the server is reading too many large requests; retry later")

// bodyBudget is the shared budget of request body bytes.
type bodyBudget struct {
	limit   int64
	used    atomic.Int64
	refused atomic.Uint64
}

// budgetedBody is a request body that counts what it read against the budget.
type budgetedBody struct {
	io.ReadCloser
	budget *bodyBudget
	read   int64 // bytes read
	drawn  int64 // bytes drawn from the budget
	failed bool
	onEOF  func()
}

// Read reads from the body, drawing each chunk beyond FreeBodyBytes from the
// budget before handing it on.
func (b *budgetedBody) Read(p []byte) (int, error) {
	if b.failed {
		return 0, ErrBusy
	}
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	if over := b.read - FreeBodyBytes - b.drawn; over > 0 {
		if b.budget.used.Add(over) > b.budget.limit {
			b.budget.used.Add(-over)
			b.budget.refused.Add(1)
			b.failed = true
			return 0, ErrBusy
		}
		b.drawn += over
	}
	if err == io.EOF && b.onEOF != nil {
		b.onEOF()
		b.onEOF = nil
	}
	return n, err
}

// release gives the bytes drawn back once the request was answered (the
// handler has dropped the body by then).
func (b *budgetedBody) release() {
	if b.drawn > 0 {
		b.budget.used.Add(-b.drawn)
		b.drawn = 0
	}
}
