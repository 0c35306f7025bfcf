package operator

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	kcpcache "github.com/kcp-dev/apimachinery/v2/pkg/cache"
	"github.com/kcp-dev/logicalcluster/v3"
	mcpcache "github.com/kcp-dev/multicluster-provider/pkg/cache"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	fcache "k8s.io/client-go/tools/cache/testing"
)

// recorder is a workspace's event handler that notes "verb name" for every event.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) note(verb string, obj any) {
	if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, verb+" "+obj.(*corev1.ConfigMap).Name)
}

func (r *recorder) OnAdd(obj any, _ bool) { r.note("add", obj) }
func (r *recorder) OnUpdate(_, obj any)   { r.note("update", obj) }
func (r *recorder) OnDelete(obj any)      { r.note("delete", obj) }
func (r *recorder) has(event string) bool { return slices.Contains(r.seen(), event) }

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func inCluster(cluster, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name,
		Annotations: map[string]string{logicalcluster.AnnotationKey: cluster}}}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestDispatcherHandsEachWorkspaceOnlyItsEvents runs a real shared informer over objects
// of two workspaces: a handler added for workspace a gets a's objects that exist (as a
// new informer handler would) and a's later events, never b's, and nothing once removed.
func TestDispatcherHandsEachWorkspaceOnlyItsEvents(t *testing.T) {
	src := fcache.NewFakeControllerSource()
	src.Add(inCluster("a", "a1"))
	src.Add(inCluster("b", "b1"))
	inf := toolscache.NewSharedIndexInformer(src, &corev1.ConfigMap{}, 0,
		toolscache.Indexers{kcpcache.ClusterIndexName: mcpcache.ClusterIndexFunc})
	stop := make(chan struct{})
	defer close(stop)
	go inf.Run(stop)
	waitFor(t, "the informer to sync", inf.HasSynced)

	d, err := newDispatcher(inf)
	if err != nil {
		t.Fatal(err)
	}
	a, b := &recorder{}, &recorder{}
	regA := d.add("a", a)
	d.add("b", b)
	if got := a.seen(); !slices.Equal(got, []string{"add a1"}) {
		t.Fatalf("on being added, a's handler got %v, want [add a1]", got)
	}
	waitFor(t, "the registration to sync", regA.HasSynced)

	src.Add(inCluster("a", "a2"))
	src.Add(inCluster("b", "b2"))
	src.Modify(inCluster("a", "a1"))
	src.Delete(inCluster("b", "b1"))
	waitFor(t, "a's events", func() bool { return a.has("add a2") && a.has("update a1") })
	waitFor(t, "b's events", func() bool { return b.has("add b2") && b.has("delete b1") })
	for _, e := range a.seen() {
		if strings.Contains(e, " b") {
			t.Errorf("a's handler got b's event %q", e)
		}
	}

	d.remove(regA)
	src.Add(inCluster("a", "a3"))
	src.Add(inCluster("b", "b3"))
	waitFor(t, "b3", func() bool { return b.has("add b3") })
	if a.has("add a3") {
		t.Error("a removed handler still got a3")
	}
}
