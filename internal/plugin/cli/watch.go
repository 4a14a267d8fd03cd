package cli

import (
	"context"

	"github.com/go-logr/logr"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// ListWatch lists and watches the one Rollout called name, for informers
// and watchtools. The field selector keeps other Rollouts of the namespace
// off the wire.
func (r *Rollouts) ListWatch(name string) *cache.ListWatch {
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.FieldSelector = sel
			return r.ListRaw(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.FieldSelector = sel
			return r.Watch(ctx, opts)
		},
	}
}

// QuietOnceDone returns ctx carrying a logger that drops every record
// once ctx is done. client-go's reflectors log through the context's
// logger; when a watch command has its answer and cancels, the stream's
// closing error can race the stop and be logged as "watch ended with
// error" on the user's terminal. Until then, warnings still print.
func QuietOnceDone(ctx context.Context) context.Context {
	sink := klog.FromContext(ctx).GetSink()
	if sink == nil {
		return ctx // a discarding logger already
	}
	// The wrapper is one more frame between the caller and the sink.
	if withDepth, ok := sink.(logr.CallDepthLogSink); ok {
		sink = withDepth.WithCallDepth(1)
	}
	return klog.NewContext(ctx, logr.New(&quietOnceDone{LogSink: sink, ctx: ctx}))
}

type quietOnceDone struct {
	logr.LogSink
	ctx context.Context
}

func (q *quietOnceDone) Enabled(level int) bool {
	return q.ctx.Err() == nil && q.LogSink.Enabled(level)
}

func (q *quietOnceDone) Info(level int, msg string, kv ...any) {
	if q.ctx.Err() == nil {
		q.LogSink.Info(level, msg, kv...)
	}
}

func (q *quietOnceDone) Error(err error, msg string, kv ...any) {
	if q.ctx.Err() == nil {
		q.LogSink.Error(err, msg, kv...)
	}
}

func (q *quietOnceDone) WithValues(kv ...any) logr.LogSink {
	return &quietOnceDone{LogSink: q.LogSink.WithValues(kv...), ctx: q.ctx}
}

func (q *quietOnceDone) WithName(name string) logr.LogSink {
	return &quietOnceDone{LogSink: q.LogSink.WithName(name), ctx: q.ctx}
}
