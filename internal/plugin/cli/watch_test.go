package cli

import (
	"context"
	"errors"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"k8s.io/klog/v2"
)

func TestQuietOnceDoneDropsRecordsAfterCancel(t *testing.T) {
	var lines []string
	base := funcr.New(func(prefix, args string) { lines = append(lines, prefix+" "+args) }, funcr.Options{Verbosity: 1})
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), base))
	defer cancel()

	logger := klog.FromContext(QuietOnceDone(ctx)).WithName("reflector").WithValues("type", "Rollout")
	logger.Info("Warning: watch ended with error", "err", "connection reset")
	logger.V(1).Info("relisting")
	if len(lines) != 2 {
		t.Fatalf("before cancel: want both records, got %q", lines)
	}

	cancel()
	logger.Info("Warning: watch ended with error", "err", "context canceled")
	logger.Error(errors.New("context canceled"), "watch failed")
	if len(lines) != 2 {
		t.Fatalf("after cancel: want no more records, got %q", lines[2:])
	}
	if logger.Enabled() {
		t.Error("a logger of a done context should report itself disabled")
	}
}

func TestQuietOnceDoneKeepsADiscardingLogger(t *testing.T) {
	ctx := klog.NewContext(context.Background(), logr.Discard())
	if got := QuietOnceDone(ctx); got != ctx {
		t.Error("a context whose logger discards should be returned as it is")
	}
}
