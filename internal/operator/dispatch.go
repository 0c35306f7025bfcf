package operator

import (
	"sync"
	"time"

	kcpcache "github.com/kcp-dev/apimachinery/v2/pkg/cache"
	"github.com/kcp-dev/logicalcluster/v3"
	mcpcache "github.com/kcp-dev/multicluster-provider/pkg/cache"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// dispatcher hands the events of one shared (wildcard) informer to the handlers of the
// workspace each object is in, through one handler on that informer.
//
// Without it, every engaged workspace adds one handler per watch to the shared informer,
// and each handler drops the events of all other workspaces: every event then passes
// through W handlers (each with its own buffer and two goroutines), so the operator's
// memory and CPU per event grow with the number of workspaces. With it, an event costs a
// map lookup, and a workspace's handlers are entries in that map.
type dispatcher struct {
	indexer      toolscache.Indexer
	registration toolscache.ResourceEventHandlerRegistration

	mu       sync.RWMutex
	handlers map[logicalcluster.Name]map[*registration]toolscache.ResourceEventHandler
}

func newDispatcher(inf toolscache.SharedIndexInformer) (*dispatcher, error) {
	d := &dispatcher{indexer: inf.GetIndexer(), handlers: map[logicalcluster.Name]map[*registration]toolscache.ResourceEventHandler{}}
	reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initial bool) {
			for _, h := range d.of(obj) {
				h.OnAdd(obj, initial)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			for _, h := range d.of(newObj) {
				h.OnUpdate(oldObj, newObj)
			}
		},
		DeleteFunc: func(obj any) {
			for _, h := range d.of(obj) {
				h.OnDelete(obj)
			}
		},
	})
	d.registration = reg
	return d, err
}

// of returns the handlers of obj's workspace.
func (d *dispatcher) of(obj any) []toolscache.ResourceEventHandler {
	if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	o, ok := obj.(client.Object)
	if !ok {
		return nil
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	hs := make([]toolscache.ResourceEventHandler, 0, len(d.handlers[logicalcluster.From(o)]))
	for _, h := range d.handlers[logicalcluster.From(o)] {
		hs = append(hs, h)
	}
	return hs
}

// add registers h for one workspace and hands it that workspace's objects the informer
// already has, as a new handler on the informer itself would get them.
func (d *dispatcher) add(cluster logicalcluster.Name, h toolscache.ResourceEventHandler) *registration {
	r := &registration{d: d, cluster: cluster}
	d.mu.Lock()
	if d.handlers[cluster] == nil {
		d.handlers[cluster] = map[*registration]toolscache.ResourceEventHandler{}
	}
	d.handlers[cluster][r] = h
	d.mu.Unlock()
	// An event may reach h both here and through the dispatch; controllers only enqueue,
	// so a repeat costs one more reconcile of an object that is there anyway.
	objs, _ := d.indexer.ByIndex(kcpcache.ClusterIndexName, mcpcache.ClusterIndexKey(cluster))
	for _, obj := range objs {
		h.OnAdd(obj, true)
	}
	return r
}

func (d *dispatcher) remove(r *registration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.handlers[r.cluster], r)
	if len(d.handlers[r.cluster]) == 0 {
		delete(d.handlers, r.cluster)
	}
}

// registration is one workspace handler's entry in a dispatcher.
type registration struct {
	d       *dispatcher
	cluster logicalcluster.Name
}

// HasSynced is true once the informer has delivered its initial list: objects listed
// before the handler was added were handed over by add, and later ones by the dispatch.
func (r *registration) HasSynced() bool { return r.d.registration.HasSynced() }

func (r *registration) HasSyncedChecker() toolscache.DoneChecker {
	return r.d.registration.HasSyncedChecker()
}

// clusterInformer is a shared informer as one workspace sees it: handlers added to it
// get only that workspace's events.
type clusterInformer struct {
	cache.Informer
	d       *dispatcher
	cluster logicalcluster.Name
}

func (i *clusterInformer) AddEventHandler(h toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.d.add(i.cluster, h), nil
}

// AddEventHandlerWithResyncPeriod ignores the period: the controllers here resync
// through requeues, not informer resyncs.
func (i *clusterInformer) AddEventHandlerWithResyncPeriod(h toolscache.ResourceEventHandler, _ time.Duration) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.d.add(i.cluster, h), nil
}

func (i *clusterInformer) AddEventHandlerWithOptions(h toolscache.ResourceEventHandler, _ toolscache.HandlerOptions) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.d.add(i.cluster, h), nil
}

func (i *clusterInformer) RemoveEventHandler(handle toolscache.ResourceEventHandlerRegistration) error {
	if r, ok := handle.(*registration); ok {
		r.d.remove(r)
		return nil
	}
	return i.Informer.RemoveEventHandler(handle)
}
