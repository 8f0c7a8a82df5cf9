using Bpi.Orchestration.Kubernetes.Emulator;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Bpi.Orchestration.Kubernetes.Tests.Emulator;

/// <summary>The emulator answers the real KubernetesClient as an API server would, for what the runtime relies on.</summary>
public sealed class EmulatorTests : IAsyncLifetime
{
    private KubernetesEmulator _emulator = null!;
    private k8s.Kubernetes _client = null!;

    public async Task InitializeAsync()
    {
        _emulator = await KubernetesEmulator.StartAsync();
        _client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _emulator.Url.ToString() });
        await _client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "apps" } });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task A_write_with_a_stale_resource_version_is_a_409_conflict_and_a_fresh_one_succeeds()
    {
        var created = await _client.CoreV1.CreateNamespacedSecretAsync(Secret("s1"), "apps");
        created.StringData = null;
        created.Data = new Dictionary<string, byte[]> { ["k"] = "v2"u8.ToArray() };
        var updated = await _client.CoreV1.ReplaceNamespacedSecretAsync(created, "s1", "apps");
        Assert.NotEqual(created.Metadata.ResourceVersion, updated.Metadata.ResourceVersion);

        var stale = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.ReplaceNamespacedSecretAsync(created, "s1", "apps"));
        Assert.Equal(System.Net.HttpStatusCode.Conflict, stale.Response.StatusCode);
        Assert.Contains("the object has been modified", stale.Response.Content, StringComparison.Ordinal);

        var exists = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.CreateNamespacedSecretAsync(Secret("s1"), "apps"));
        Assert.Contains("AlreadyExists", exists.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_objects_are_404_and_invalid_ones_422_with_every_cause()
    {
        var missing = await Assert.ThrowsAsync<HttpOperationException>(() => _client.AppsV1.ReadNamespacedDeploymentAsync("nope", "apps"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.Response.StatusCode);

        var bad = Deployment("Bad_Name", "img:1");
        bad.Spec.Selector.MatchLabels["app"] = "other";
        var invalid = await Assert.ThrowsAsync<HttpOperationException>(() => _client.AppsV1.CreateNamespacedDeploymentAsync(bad, "apps"));
        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, invalid.Response.StatusCode);
        Assert.Contains("metadata.name", invalid.Response.Content, StringComparison.Ordinal);
        Assert.True(invalid.Response.Content.Contains("selector` does not match template `labels`", StringComparison.Ordinal), invalid.Response.Content);
    }

    [Fact]
    public async Task A_deployment_gets_ready_pods_and_a_rollout_status_a_client_can_judge()
    {
        var created = await _client.AppsV1.CreateNamespacedDeploymentAsync(Deployment("web", "img:1", replicas: 3), "apps");
        var deployment = await _client.AppsV1.ReadNamespacedDeploymentAsync("web", "apps");
        Assert.Equal(1, deployment.Metadata.Generation);
        Assert.Equal(1, deployment.Status.ObservedGeneration);
        Assert.Equal(3, deployment.Status.AvailableReplicas);
        Assert.Equal(3, deployment.Status.UpdatedReplicas);
        Assert.Contains(deployment.Status.Conditions, c => c.Type == "Progressing" && c.Reason == "NewReplicaSetAvailable");
        var pods = await _client.CoreV1.ListNamespacedPodAsync("apps", labelSelector: "app=web");
        Assert.Equal(3, pods.Items.Count);
        Assert.All(pods.Items, p => Assert.Equal("Running", p.Status.Phase));

        // A status write does not change the generation; a spec change does, and a crash-looping template is not available.
        _emulator.ScriptImage("img:2", PodBehavior.CrashLoop);
        deployment.Spec.Template.Spec.Containers[0].Image = "img:2";
        await _client.AppsV1.ReplaceNamespacedDeploymentAsync(deployment, "web", "apps");
        deployment = await _client.AppsV1.ReadNamespacedDeploymentAsync("web", "apps");
        Assert.Equal(2, deployment.Metadata.Generation);
        Assert.Equal(0, deployment.Status.AvailableReplicas ?? 0);
        pods = await _client.CoreV1.ListNamespacedPodAsync("apps", labelSelector: "app=web");
        Assert.All(pods.Items, p => Assert.Equal("CrashLoopBackOff", p.Status.ContainerStatuses[0].State.Waiting.Reason));
        Assert.NotNull(created.Metadata.Uid);
    }

    [Fact]
    public async Task A_restricted_namespace_refuses_pods_that_break_the_restricted_profile()
    {
        await _client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "locked", Labels = new Dictionary<string, string> { ["pod-security.kubernetes.io/enforce"] = "restricted" } } });
        await _client.AppsV1.CreateNamespacedDeploymentAsync(Deployment("loose", "img:1"), "locked");
        var deployment = await _client.AppsV1.ReadNamespacedDeploymentAsync("loose", "locked");
        var failure = Assert.Single(deployment.Status.Conditions, c => c.Type == "ReplicaFailure");
        Assert.Contains("allowPrivilegeEscalation != false", failure.Message, StringComparison.Ordinal);
        Assert.Empty((await _client.CoreV1.ListNamespacedPodAsync("locked")).Items);
    }

    [Fact]
    public async Task A_watch_sends_changes_after_its_resource_version_bookmarks_and_410_once_expired()
    {
        var list = await _client.CoreV1.ListNamespacedSecretAsync("apps");
        var events = new List<(WatchEventType Type, string? Name, string Version)>();
        var errors = new List<Exception>();
        var reading = Task.Run(async () =>
        {
            await foreach (var (type, item) in _client.CoreV1.WatchListNamespacedSecretAsync("apps", allowWatchBookmarks: true, resourceVersion: list.Metadata.ResourceVersion, labelSelector: "team=a", onError: errors.Add))
            {
                lock (events)
                {
                    events.Add((type, item.Metadata.Name, item.Metadata.ResourceVersion));
                }
            }
        });

        await _client.CoreV1.CreateNamespacedSecretAsync(Secret("mine", "a"), "apps");
        await _client.CoreV1.CreateNamespacedSecretAsync(Secret("theirs", "b"), "apps");
        // A watch that asks for bookmarks gets one when it is registered (before or after the change, as the reader's task
        // was scheduled); a bookmark sent before the registration would reach no one, so wait for both first.
        await Eventually.UntilAsync(
            () => Task.FromResult(Snapshot(events)),
            e => e.Any(x => x is { Type: WatchEventType.Added, Name: "mine" }) && e.Any(x => x.Type == WatchEventType.Bookmark),
            "the watch to be registered and send the change");
        _emulator.SendBookmarks();
        await Eventually.UntilAsync(() => Task.FromResult(Snapshot(events)), e => e.Count(x => x.Type == WatchEventType.Bookmark) >= 2, "a bookmark after the change");
        Assert.Equal(["mine"], Snapshot(events).Where(e => e.Type == WatchEventType.Added).Select(e => e.Name));

        _emulator.ExpireWatches();
        await reading.WaitAsync(TimeSpan.FromSeconds(30));
        var gone = Assert.IsType<KubernetesException>(Assert.Single(errors));
        Assert.Equal(410, gone.Status.Code);

        var again = await Assert.ThrowsAsync<KubernetesException>(async () =>
        {
            await foreach (var _ in _client.CoreV1.WatchListNamespacedSecretAsync("apps", resourceVersion: list.Metadata.ResourceVersion, onError: e => throw e))
            {
            }
        });
        Assert.Equal(410, again.Status.Code);
    }

    [Fact]
    public async Task A_denied_verb_is_a_403_naming_the_verb_and_resource()
    {
        _emulator.Deny("create", "deployments");
        var denied = await Assert.ThrowsAsync<HttpOperationException>(() => _client.AppsV1.CreateNamespacedDeploymentAsync(Deployment("web", "img:1"), "apps"));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, denied.Response.StatusCode);
        Assert.Contains("cannot create resource \"deployments\" in API group \"apps\"", KubernetesJson.Deserialize<V1Status>(denied.Response.Content).Message, StringComparison.Ordinal);
    }

    private static List<(WatchEventType Type, string? Name, string Version)> Snapshot(List<(WatchEventType Type, string? Name, string Version)> events)
    {
        lock (events)
        {
            return [.. events];
        }
    }

    internal static V1Secret Secret(string name, string team = "a") => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["team"] = team } },
        Data = new Dictionary<string, byte[]> { ["k"] = "v"u8.ToArray() },
    };

    internal static V1Deployment Deployment(string name, string image, int replicas = 1) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1DeploymentSpec
        {
            Replicas = replicas,
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = name.ToLowerInvariant() } },
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = name.ToLowerInvariant() } },
                Spec = new V1PodSpec { Containers = [new V1Container { Name = "app", Image = image }] },
            },
        },
    };
}
