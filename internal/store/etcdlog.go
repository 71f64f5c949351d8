package store

import (
	"context"
	"log/slog"
	"sort"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// LevelFatal is the level of a message that precedes the process's exit:
// etcd's Fatal and Panic messages, after which it exits or panics.
const LevelFatal = slog.LevelError + 4

// etcdLogCore is a zapcore.Core that forwards the embedded etcd server's
// error-level messages to the store's slog logger. Once closing is set, they
// are logged at debug level instead: etcd reports its own listeners shutting
// down ("use of closed network connection") as errors. A fatal message (etcd
// exits the process right after it) is logged at LevelFatal, saying so, with
// its cause, whatever closing says.
type etcdLogCore struct {
	log     *slog.Logger
	closing *atomic.Bool
	fields  []zapcore.Field
}

// newEtcdLogger returns a zap logger for embed.Config.ZapLoggerBuilder.
func newEtcdLogger(log *slog.Logger, closing *atomic.Bool) *zap.Logger {
	return zap.New(&etcdLogCore{log: log, closing: closing})
}

func (c *etcdLogCore) Enabled(l zapcore.Level) bool { return l >= zapcore.ErrorLevel }

func (c *etcdLogCore) With(fields []zapcore.Field) zapcore.Core {
	return &etcdLogCore{log: c.log, closing: c.closing, fields: append(c.fields[:len(c.fields):len(c.fields)], fields...)}
}

func (c *etcdLogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *etcdLogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range c.fields {
		f.AddTo(enc)
	}
	for _, f := range fields {
		f.AddTo(enc)
	}
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]slog.Attr, 0, len(keys)+1)
	attrs = append(attrs, slog.String("component", "etcd"))
	for _, k := range keys {
		attrs = append(attrs, slog.Any(k, enc.Fields[k]))
	}
	level, msg := slog.LevelError, e.Message
	switch {
	case e.Level >= zapcore.DPanicLevel:
		level, msg = LevelFatal, "embedded etcd stops the process: "+e.Message
	case c.closing.Load():
		level = slog.LevelDebug
	}
	c.log.LogAttrs(context.Background(), level, msg, attrs...)
	return nil
}

func (c *etcdLogCore) Sync() error { return nil }
