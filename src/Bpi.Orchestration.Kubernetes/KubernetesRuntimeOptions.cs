namespace Bpi.Orchestration.Kubernetes;

/// <summary>Options of the Kubernetes runtime (<c>AddKubernetes(o => …)</c>): which cluster, which namespaces, which Gateway.</summary>
public sealed class KubernetesRuntimeOptions
{
    /// <summary>The kubeconfig file to use; <see langword="null"/> uses <c>KUBECONFIG</c> or <c>~/.kube/config</c>. Ignored with <see cref="InCluster"/>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? KubeconfigPath { get; set; }

    /// <summary>The kubeconfig context to use; <see langword="null"/> uses the file's current context.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Context { get; set; }

    /// <summary>Whether to use the pod's service account (in-cluster configuration) instead of a kubeconfig file.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool InCluster { get; set; }

    /// <summary>
    /// The namespace of each environment, by environment name. An environment not listed uses <see cref="NamespaceTemplate"/>.
    /// </summary>
    public IDictionary<string, string> Namespaces { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The namespace of an environment <see cref="Namespaces"/> does not list; <c>{environment}</c> is replaced by its name.</summary>
    /// <value>The default value is <c>bpi-{environment}</c>.</value>
    public string NamespaceTemplate { get; set; } = "bpi-{environment}";

    /// <summary>
    /// Whether to create a missing namespace (labelled <c>pod-security.kubernetes.io/enforce: restricted</c>). When
    /// <see langword="false"/>, a missing namespace is an error that names it.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool CreateNamespaces { get; set; } = true;

    /// <summary>
    /// The Gateway (Gateway API) the HTTPRoutes attach to, as <c>namespace/name</c> or <c>name</c> (the route's namespace).
    /// When set, traffic weights are exact (one HTTPRoute per component, one Service per revision, weighted
    /// <c>backendRefs</c>); when <see langword="null"/>, no router is registered and weights are approximated by
    /// replica ratio behind one stable Service per component, which the deployment's status flags.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? GatewayParentRef { get; set; }

    /// <summary>The listener (<c>sectionName</c>) of the Gateway the routes attach to; <see langword="null"/> attaches to all.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? GatewaySectionName { get; set; }

    /// <summary>The user id containers run as when DockLock requires a non-root user and the component names none.</summary>
    /// <value>The default value is 65534 (nobody).</value>
    public long NonRootUserId { get; set; } = 65534;

    /// <summary>The size of each PersistentVolumeClaim a component's named volume gets (a Kubernetes quantity).</summary>
    /// <value>The default value is <c>1Gi</c>.</value>
    public string VolumeSize { get; set; } = "1Gi";

    /// <summary>The storage class of the PersistentVolumeClaims; <see langword="null"/> uses the cluster's default.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? StorageClassName { get; set; }

    /// <summary>The size limit of the <c>emptyDir</c> mounted at <c>/tmp</c> when the root filesystem is read-only, in MB.</summary>
    /// <value>The default value is 64.</value>
    public int TmpSizeMb { get; set; } = 64;

    /// <summary>How often a write that met <c>409 Conflict</c> re-reads the object and tries again before giving up.</summary>
    /// <value>The default value is 5.</value>
    public int MaxConflictRetries { get; set; } = 5;

    /// <summary>The timeout of one API request (watches excepted).</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Resolves the namespace of an environment.</summary>
    /// <param name="environment">The environment.</param>
    /// <returns>The namespace.</returns>
    public string NamespaceFor(string environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return Namespaces.TryGetValue(environment, out var mapped) ? mapped : NamespaceTemplate.Replace("{environment}", environment, StringComparison.Ordinal);
    }
}
