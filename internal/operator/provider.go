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
// one change: Secrets are cached only when they carry cert-manager's
// controller.cert-manager.io/fao label. Every other type shares the provider's wildcard
// cache. Without this, watching Secrets would cache every Secret of every tenant; with
// it, only the Secrets this operator writes are, and a tenant's own Secrets (an issuer's
// CA, a keystore password) are read live when needed.
func newProvider(cfg *rest.Config, endpointSlice string, scheme *runtime.Scheme) (*provider.Provider, error) {
	f := &secretFilter{scheme: scheme, caches: map[string]mcpcache.WildcardCache{}}
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

// secretFilter keeps one label-filtered Secret cache per virtual workspace URL (one per
// shard), shared by all workspaces served through it, as the provider's own cache is.
type secretFilter struct {
	scheme *runtime.Scheme
	mu     sync.Mutex
	caches map[string]mcpcache.WildcardCache
}

func (f *secretFilter) newCluster(cfg *rest.Config, name logicalcluster.Name, base mcpcache.WildcardCache,
	scheme *runtime.Scheme, rec mcrecorder.EventRecorderGetter) (*mcpcache.ScopedCluster, error) {
	secrets, err := f.secretsCache(cfg)
	if err != nil {
		return nil, err
	}
	return mcpcache.NewScopedCluster(cfg, name, &routedCache{WildcardCache: base, secrets: secrets, scheme: scheme}, scheme, rec)
}

func (f *secretFilter) secretsCache(cfg *rest.Config) (mcpcache.WildcardCache, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.caches[cfg.Host]; ok {
		return c, nil
	}
	c, err := mcpcache.NewWildcardCache(cfg, cache.Options{
		Scheme:   f.scheme,
		ByObject: map[client.Object]cache.ByObject{&corev1.Secret{}: {Label: ManagedSecretSelector}},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the Secret cache for %s: %w", cfg.Host, err)
	}
	// It lives as long as the process, like the endpoint it serves.
	go func() { _ = c.Start(context.Background()) }()
	f.caches[cfg.Host] = c
	return c, nil
}

// routedCache sends Secrets to the filtered cache and everything else to the base.
type routedCache struct {
	mcpcache.WildcardCache
	secrets mcpcache.WildcardCache
	scheme  *runtime.Scheme
}

var secretGVK = corev1.SchemeGroupVersion.WithKind("Secret")

func (c *routedCache) pick(obj runtime.Object) mcpcache.WildcardCache {
	gvk, err := apiutil.GVKForObject(obj, c.scheme)
	if err == nil && isSecret(gvk) {
		return c.secrets
	}
	return c.WildcardCache
}

func isSecret(gvk schema.GroupVersionKind) bool {
	gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	return gvk == secretGVK
}

func (c *routedCache) GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	return c.pick(obj).GetInformer(ctx, obj, opts...)
}

func (c *routedCache) GetInformerForKind(ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption) (cache.Informer, error) {
	if isSecret(gvk) {
		return c.secrets.GetInformerForKind(ctx, gvk, opts...)
	}
	return c.WildcardCache.GetInformerForKind(ctx, gvk, opts...)
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
	return c.WildcardCache.WaitForCacheSync(ctx) && c.secrets.WaitForCacheSync(ctx)
}
