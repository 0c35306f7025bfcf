package operator

import (
	"context"
	"fmt"
	"strings"
	"sync"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/kcp-dev/logicalcluster/v3"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	k8scache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"

	mcpcache "github.com/kcp-dev/multicluster-provider/pkg/cache"
	mcrecorder "github.com/kcp-dev/multicluster-provider/pkg/events/recorder"
	"github.com/kcp-dev/multicluster-provider/pkg/provider"
)

// newProvider is kcp's apiexport provider (the same options apiexport.New sets), with
// one change: the controllers read through a cache of our own, one per virtual workspace
// URL, instead of the provider's. It differs in two ways:
//   - Secrets are cached only when they carry cert-manager's
//     controller.cert-manager.io/fao label. Without this, watching Secrets would cache
//     every Secret of every tenant; with it, only the Secrets this operator writes are,
//     and a tenant's own Secrets (an issuer's CA, a keystore password) are read live.
//   - managedFields are dropped from every object: nothing here reads them, and they are
//     a good part of each cached Certificate, request and Secret.
//   - a workspace's controllers get their events through a dispatcher (dispatch.go), one
//     handler per shared informer, instead of one handler per workspace and watch.
//
// APIBindings still come from the provider's cache, which watches them anyway.
func newProvider(cfg *rest.Config, endpointSlice string, scheme *runtime.Scheme) (*provider.Provider, error) {
	f := &sharedCaches{scheme: scheme, caches: map[string]mcpcache.WildcardCache{},
		dispatchers: map[k8scache.SharedIndexInformer]*dispatcher{}}
	return provider.NewProvider(cfg, endpointSlice, provider.Options{
		Scheme:                       scheme,
		EndpointSliceObject:          &apisv1alpha1.APIExportEndpointSlice{},
		ExtractURLsFromEndpointSlice: provider.DefaultExtractURLsFromEndpointSlice,
		ObjectToWatch:                &apisv1alpha1.APIBinding{},
		AddFilter:                    provider.ConditionReadyFunc("Ready"),
		UpdateFilter:                 provider.ConditionReadyFunc("Ready"),
		NewCluster:                   f.newCluster,
	})
}

// ManagedSecretSelector selects the Secrets the operator caches.
var ManagedSecretSelector = labels.SelectorFromSet(labels.Set{cmapi.PartOfCertManagerControllerLabelKey: "true"})

// sharedCaches keeps our cache per virtual workspace URL (one per shard), shared by all
// workspaces served through it as the provider's own cache is, and a dispatcher per
// informer of those caches.
type sharedCaches struct {
	scheme      *runtime.Scheme
	mu          sync.Mutex
	caches      map[string]mcpcache.WildcardCache
	dispatchers map[k8scache.SharedIndexInformer]*dispatcher
}

func (f *sharedCaches) newCluster(cfg *rest.Config, name logicalcluster.Name, base mcpcache.WildcardCache,
	scheme *runtime.Scheme, rec mcrecorder.EventRecorderGetter) (*mcpcache.ScopedCluster, error) {
	own, err := f.cache(cfg)
	if err != nil {
		return nil, err
	}
	return mcpcache.NewScopedCluster(cfg, name, &routedCache{WildcardCache: base, own: own, scheme: scheme, cluster: name, caches: f}, scheme, rec)
}

func (f *sharedCaches) cache(cfg *rest.Config) (mcpcache.WildcardCache, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.caches[cfg.Host]; ok {
		return c, nil
	}
	c, err := mcpcache.NewWildcardCache(cfg, cache.Options{
		Scheme:           f.scheme,
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject:         map[client.Object]cache.ByObject{&corev1.Secret{}: {Label: ManagedSecretSelector}},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the cache for %s: %w", cfg.Host, err)
	}
	// It lives as long as the process, like the endpoint it serves.
	go func() { _ = c.Start(context.Background()) }()
	f.caches[cfg.Host] = c
	return c, nil
}

// dispatcher returns the one dispatcher of a shared informer.
func (f *sharedCaches) dispatcher(inf k8scache.SharedIndexInformer) (*dispatcher, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d, ok := f.dispatchers[inf]; ok {
		return d, nil
	}
	d, err := newDispatcher(inf)
	if err != nil {
		return nil, err
	}
	f.dispatchers[inf] = d
	return d, nil
}

// routedCache is one workspace's view: APIBindings from the provider's cache (base),
// everything else from ours (own), with informers that dispatch to this workspace only.
type routedCache struct {
	mcpcache.WildcardCache
	own     mcpcache.WildcardCache
	scheme  *runtime.Scheme
	cluster logicalcluster.Name
	caches  *sharedCaches
}

// scoped returns the informer of obj's type as this workspace sees it.
func (c *routedCache) scoped(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	inf, err := c.own.GetInformer(ctx, obj, opts...)
	if err != nil {
		return nil, err
	}
	shared, _, _, err := c.own.GetSharedInformer(obj)
	if err != nil {
		return nil, err
	}
	d, err := c.caches.dispatcher(shared)
	if err != nil {
		return nil, err
	}
	return &clusterInformer{Informer: inf, d: d, cluster: c.cluster}, nil
}

var bindingGVK = apisv1alpha1.SchemeGroupVersion.WithKind("APIBinding")

func (c *routedCache) pick(obj runtime.Object) mcpcache.WildcardCache {
	gvk, err := apiutil.GVKForObject(obj, c.scheme)
	if err == nil && isBinding(gvk) {
		return c.WildcardCache
	}
	return c.own
}

func isBinding(gvk schema.GroupVersionKind) bool {
	gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	return gvk == bindingGVK
}

func (c *routedCache) GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	if gvk, err := apiutil.GVKForObject(obj, c.scheme); err == nil && isBinding(gvk) {
		return c.WildcardCache.GetInformer(ctx, obj, opts...)
	}
	return c.scoped(ctx, obj, opts...)
}

func (c *routedCache) GetInformerForKind(ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption) (cache.Informer, error) {
	if isBinding(gvk) {
		return c.WildcardCache.GetInformerForKind(ctx, gvk, opts...)
	}
	obj, err := c.scheme.New(gvk)
	if err != nil {
		return nil, err
	}
	cobj, ok := obj.(client.Object)
	if !ok {
		return nil, fmt.Errorf("%s is not an object", gvk)
	}
	return c.scoped(ctx, cobj, opts...)
}

func (c *routedCache) GetSharedInformer(obj runtime.Object) (k8scache.SharedIndexInformer, schema.GroupVersionKind, apimeta.RESTScopeName, error) {
	return c.pick(obj).GetSharedInformer(obj)
}

func (c *routedCache) IndexField(ctx context.Context, obj client.Object, field string, extract client.IndexerFunc) error {
	return c.pick(obj).IndexField(ctx, obj, field, extract)
}

func (c *routedCache) RemoveInformer(ctx context.Context, obj client.Object) error {
	return c.pick(obj).RemoveInformer(ctx, obj)
}

func (c *routedCache) WaitForCacheSync(ctx context.Context) bool {
	return c.WildcardCache.WaitForCacheSync(ctx) && c.own.WaitForCacheSync(ctx)
}
