package history

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// EtcdListerWatcher lists and watches the objects kube-apiserver stores
// under prefix in its etcd (e.g. "/registry/pods/NAMESPACE/"), decoding
// them with decoder (a scheme's universal deserializer reads the protobuf
// and JSON kube-apiserver writes) into lists made by newList.
//
// It reads etcd itself, not the API: it sees every write, and goes on
// seeing them while kube-apiserver is down or restarting, when an API
// watch breaks and cannot always resume (a restarted kube-apiserver's
// watch cache starts at the current revision). A Source built on it
// records without gaps, as long as etcd keeps the revisions (kube-apiserver
// compacts every five minutes).
func EtcdListerWatcher(cli *clientv3.Client, prefix string, newList func() runtime.Object, decoder runtime.Decoder) cache.ListerWatcher {
	return &etcdLW{cli: cli, prefix: prefix, newList: newList, decoder: decoder}
}

type etcdLW struct {
	cli     *clientv3.Client
	prefix  string
	newList func() runtime.Object
	decoder runtime.Decoder
}

// IsWatchListSemanticsUnSupported tells the Reflector to list, then watch.
func (lw *etcdLW) IsWatchListSemanticsUnSupported() bool { return true }

func (lw *etcdLW) decode(data []byte, rev int64) (runtime.Object, error) {
	obj, _, err := lw.decoder.Decode(data, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", lw.prefix, err)
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	// kube-apiserver stores no resourceVersion: it is the revision.
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	return obj, nil
}

func (lw *etcdLW) List(options metav1.ListOptions) (runtime.Object, error) {
	return lw.ListWithContext(context.Background(), options)
}

func (lw *etcdLW) ListWithContext(ctx context.Context, _ metav1.ListOptions) (runtime.Object, error) {
	resp, err := lw.cli.Get(ctx, lw.prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("etcd get %s: %w", lw.prefix, err)
	}
	items := make([]runtime.Object, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		obj, err := lw.decode(kv.Value, kv.ModRevision)
		if err != nil {
			return nil, err
		}
		items = append(items, obj)
	}
	list := lw.newList()
	if err := meta.SetList(list, items); err != nil {
		return nil, err
	}
	lm, err := meta.ListAccessor(list)
	if err != nil {
		return nil, err
	}
	lm.SetResourceVersion(strconv.FormatInt(resp.Header.Revision, 10))
	return list, nil
}

func (lw *etcdLW) Watch(options metav1.ListOptions) (watch.Interface, error) {
	return lw.WatchWithContext(context.Background(), options)
}

func (lw *etcdLW) WatchWithContext(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
	rev, err := strconv.ParseInt(options.ResourceVersion, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("etcd watch %s: resourceVersion %q: %w", lw.prefix, options.ResourceVersion, err)
	}
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	w := &etcdWatch{cancel: cancel, ch: make(chan watch.Event)}
	wch := lw.cli.Watch(ctx, lw.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithPrevKV())
	go func() {
		defer close(w.ch)
		for resp := range wch {
			if err := resp.Err(); err != nil {
				status := apierrors.NewInternalError(err).ErrStatus
				if errors.Is(err, rpctypes.ErrCompacted) || resp.CompactRevision > 0 {
					// The revisions asked for are gone: list again.
					status = apierrors.NewResourceExpired(err.Error()).ErrStatus
				}
				w.send(ctx, watch.Event{Type: watch.Error, Object: &status})
				return
			}
			for _, ev := range resp.Events {
				var e watch.Event
				switch {
				case ev.Type == clientv3.EventTypeDelete && ev.PrevKv != nil:
					obj, err := lw.decode(ev.PrevKv.Value, ev.Kv.ModRevision)
					if err != nil {
						continue
					}
					e = watch.Event{Type: watch.Deleted, Object: obj}
				case ev.Type == clientv3.EventTypePut:
					obj, err := lw.decode(ev.Kv.Value, ev.Kv.ModRevision)
					if err != nil {
						continue
					}
					e = watch.Event{Type: watch.Modified, Object: obj}
					if ev.IsCreate() {
						e.Type = watch.Added
					}
				default:
					continue
				}
				if !w.send(ctx, e) {
					return
				}
			}
		}
	}()
	return w, nil
}

// etcdWatch adapts an etcd watch to watch.Interface.
type etcdWatch struct {
	cancel context.CancelFunc
	ch     chan watch.Event
	once   sync.Once
}

func (w *etcdWatch) send(ctx context.Context, e watch.Event) bool {
	select {
	case w.ch <- e:
		return true
	case <-ctx.Done():
		return false
	}
}

func (w *etcdWatch) Stop()                          { w.once.Do(w.cancel) }
func (w *etcdWatch) ResultChan() <-chan watch.Event { return w.ch }
