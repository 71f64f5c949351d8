package testenv

import (
	"bytes"
	"io"
)

// LongBody is a request body of a given start followed by a long tail of
// filler bytes, produced as they are read (nothing is held in memory), that
// counts the bytes a handler read: fuzz tests check with it that a handler
// reads no more of a body than its limit, however long the body is.
type LongBody struct {
	r    io.Reader
	read int64
}

// NewLongBody returns a body of start followed by tail bytes of 'a'.
func NewLongBody(start []byte, tail int64) *LongBody {
	return &LongBody{r: io.MultiReader(bytes.NewReader(start), io.LimitReader(filler{}, tail))}
}

// Read implements io.Reader.
func (b *LongBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read += int64(n)
	return n, err
}

// Close implements io.Closer.
func (b *LongBody) Close() error { return nil }

// BytesRead is how much of the body has been read.
func (b *LongBody) BytesRead() int64 { return b.read }

// filler is an endless stream of 'a'.
type filler struct{}

func (filler) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}
