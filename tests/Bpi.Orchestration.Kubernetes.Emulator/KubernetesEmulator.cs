using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Kubernetes.Emulator;

/// <summary>
/// An in-process Kubernetes API server for tests: ASP.NET Core on a loopback port, so the real KubernetesClient talks
/// HTTP to it. Serves the kinds of <see cref="EmulatedKind.All"/> with resourceVersion/generation semantics, 409 on stale
/// writes, 404, 422, watches with bookmarks and 410 Gone, label selectors, RBAC denials (403) and injected faults, and
/// runs a small Deployment controller whose pods behave as the test scripts them. See README.md for what it does not do.
/// </summary>
public sealed partial class KubernetesEmulator : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly EmulatorStore _store = new();
    private readonly DeploymentController _controller;
    private readonly ConcurrentDictionary<(string Verb, string Resource), bool> _denied = new();
    private readonly ConcurrentDictionary<(string Verb, string Resource), int> _faults = new();
    private readonly ConcurrentDictionary<(string Verb, string Resource), int> _requests = new();
    private readonly CancellationTokenSource _stopping = new();

    private KubernetesEmulator(WebApplication app)
    {
        _app = app;
        _controller = new DeploymentController(_store);
        _app.Map("/{**path}", HandleAsync);
    }

    /// <summary>The base address the client talks to (<c>http://127.0.0.1:{port}</c>).</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>The user RBAC denials name.</summary>
    public string User { get; set; } = "system:serviceaccount:bpi:orchestrator";

    /// <summary>The number of watches open now.</summary>
    public int OpenWatches => _store.OpenWatches;

    /// <summary>The current resourceVersion of the whole store.</summary>
    public long ResourceVersion => _store.ResourceVersion;

    /// <summary>Starts an emulator on a free loopback port.</summary>
    /// <returns>The running emulator; dispose it to stop.</returns>
    public static async Task<KubernetesEmulator> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var emulator = new KubernetesEmulator(builder.Build());
        await emulator._app.StartAsync();
        var address = emulator._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        emulator.Url = new Uri(address);
        return emulator;
    }

    /// <summary>Answers 403 Forbidden to <paramref name="verb"/> (<c>get</c>, <c>list</c>, <c>watch</c>, <c>create</c>, <c>update</c>, <c>patch</c>, <c>delete</c>, <c>deletecollection</c>) on a resource (<c>deployments</c>).</summary>
    public void Deny(string verb, string resource) => _denied[(verb, resource)] = true;

    /// <summary>Lifts a <see cref="Deny"/>.</summary>
    public void Allow(string verb, string resource) => _denied.TryRemove((verb, resource), out _);

    /// <summary>Makes the next <paramref name="times"/> requests of <paramref name="verb"/> on <paramref name="resource"/> fail with 409 Conflict, as if another writer had just changed the object.</summary>
    public void ConflictNext(string verb, string resource, int times = 1) => _faults[(verb, resource)] = times;

    /// <summary>How many requests of a verb on a resource the emulator answered (denied and failed ones included).</summary>
    public int CountRequests(string verb, string resource) => _requests.TryGetValue((verb, resource), out var n) ? n : 0;

    /// <summary>Scripts what pods matching a label selector (all when <see langword="null"/>) do, from now on and for those running now.</summary>
    public void ScriptPods(string? labelSelector, PodBehavior behavior) => _controller.Script(LabelSelector.Parse(labelSelector), null, behavior);

    /// <summary>Scripts what pods running <paramref name="image"/> do, from now on and for those running now.</summary>
    public void ScriptImage(string image, PodBehavior behavior) => _controller.Script(LabelSelector.Everything, image, behavior);

    /// <summary>Marks a Deployment as past its progress deadline (<c>Progressing=False</c>, <c>ProgressDeadlineExceeded</c>) until it completes.</summary>
    public void ExceedProgressDeadline(string ns, string name) => _controller.ExceedProgressDeadline(ns, name);

    /// <summary>Sends a BOOKMARK with the current resourceVersion on every watch that asked for bookmarks.</summary>
    public void SendBookmarks() => _store.SendBookmarks();

    /// <summary>Forgets the event history and ends every watch with 410 Gone, so clients must relist.</summary>
    public void ExpireWatches() => _store.ExpireWatches();

    /// <summary>Reads an object (a copy), or <see langword="null"/>.</summary>
    public JsonObject? Get(string resource, string? ns, string name) => _store.Get(EmulatedKind.Of(resource), ns, name);

    /// <summary>Lists objects (copies) of a resource, in one namespace or all, optionally by label selector.</summary>
    public IReadOnlyList<JsonObject> List(string resource, string? ns = null, string? labelSelector = null)
        => _store.List(EmulatedKind.Of(resource), ns, LabelSelector.Parse(labelSelector));

    /// <summary>Every ADDED, MODIFIED and DELETED event of a resource since the last <see cref="ExpireWatches"/>, oldest first.</summary>
    public IReadOnlyList<(string Type, JsonObject Object)> History(string resource) => _store.History(EmulatedKind.Of(resource));

    /// <summary>Creates an object directly (no RBAC, no faults), as another client of the cluster would.</summary>
    public JsonObject Create(string resource, string? ns, JsonObject obj) => _store.Create(EmulatedKind.Of(resource), ns, obj);

    /// <summary>Writes a kubeconfig file naming this emulator (context <c>emulator</c>, no credentials).</summary>
    /// <param name="path">Where to write it.</param>
    public void WriteKubeconfig(string path) => File.WriteAllText(path, $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: emulator
          cluster:
            server: {Url.ToString().TrimEnd('/')}
        users:
        - name: emulator
          user:
            token: emulator-token-ignored
        contexts:
        - name: emulator
          context:
            cluster: emulator
            user: emulator
        current-context: emulator
        """);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _store.ExpireWatches();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }

    private async Task HandleAsync(HttpContext http)
    {
        try
        {
            var request = ApiRequest.Parse(http.Request);
            _requests.AddOrUpdate((request.Verb, request.Kind.Resource), 1, (_, n) => n + 1);
            if (_denied.ContainsKey((request.Verb, request.Kind.Resource)))
            {
                throw ApiError.Forbidden(request.Kind, request.Verb, request.Name, request.Namespace, User);
            }

            if (_faults.TryGetValue((request.Verb, request.Kind.Resource), out var left) && left > 0 && _faults.TryUpdate((request.Verb, request.Kind.Resource), left - 1, left))
            {
                throw ApiError.Conflict(request.Kind, request.Name ?? "");
            }

            if (request.Verb == "watch")
            {
                await WatchAsync(http, request);
                return;
            }

            await WriteAsync(http, 200, await ExecuteAsync(http, request));
        }
        catch (ApiError error)
        {
            await WriteAsync(http, error.Code, error.ToStatus());
        }
        catch (Exception unexpected) when (unexpected is not OperationCanceledException)
        {
            // A bug of the emulator: answered as the API server answers its own (500 InternalError), with the stack for the test's log.
            await WriteAsync(http, 500, new ApiError(500, "InternalError", unexpected.ToString()).ToStatus());
        }
    }

    private async Task<JsonNode> ExecuteAsync(HttpContext http, ApiRequest request)
    {
        var kind = request.Kind;
        var selector = LabelSelector.Parse(http.Request.Query["labelSelector"]);
        switch (request.Verb)
        {
            case "get" when request.Subresource == "log":
                return JsonValue.Create("")!;
            case "get":
                return _store.Get(kind, request.Namespace, request.Name!) ?? throw ApiError.NotFound(kind, request.Name!);
            case "list":
                return new JsonObject
                {
                    ["kind"] = kind.Kind + "List",
                    ["apiVersion"] = kind.ApiVersion,
                    ["metadata"] = new JsonObject { ["resourceVersion"] = _store.ResourceVersion.ToString(CultureInfo.InvariantCulture) },
                    ["items"] = new JsonArray([.. _store.List(kind, request.Namespace, selector)]),
                };
            case "create":
                return _store.Create(kind, request.Namespace, await ReadBodyAsync(http));
            case "update":
                return _store.Replace(kind, request.Namespace, request.Name!, await ReadBodyAsync(http), request.Subresource == "status");
            case "patch":
                var contentType = http.Request.ContentType ?? "";
                if (!contentType.StartsWith("application/merge-patch+json", StringComparison.Ordinal) && !contentType.StartsWith("application/strategic-merge-patch+json", StringComparison.Ordinal))
                {
                    throw new ApiError(415, "UnsupportedMediaType", $"the emulator applies only merge patches, not '{contentType}'");
                }

                var current = _store.Get(kind, request.Namespace, request.Name!) ?? throw ApiError.NotFound(kind, request.Name!);
                var patch = await ReadBodyAsync(http);
                var expected = (string?)patch["metadata"]?["resourceVersion"];
                var merged = (JsonObject)MergePatch(current, patch)!;
                merged["metadata"]!["resourceVersion"] = expected ?? (string?)current["metadata"]!["resourceVersion"];
                return _store.Replace(kind, request.Namespace, request.Name!, merged, request.Subresource == "status");
            case "delete":
                var deleted = _store.Delete(kind, request.Namespace, request.Name!);

                // As the API server (and its OpenAPI document) answers: the object for these kinds, a Status for the others.
                if (kind.Resource is "services" or "persistentvolumeclaims" or "pods")
                {
                    return deleted;
                }

                return new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Success", ["details"] = new JsonObject { ["name"] = request.Name, ["group"] = kind.Group, ["kind"] = kind.Resource } };
            case "deletecollection":
                foreach (var obj in _store.List(kind, request.Namespace, selector))
                {
                    _store.Delete(kind, request.Namespace, (string)obj["metadata"]!["name"]!);
                }

                return new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Success" };
            default:
                throw new ApiError(405, "MethodNotAllowed", $"the emulator does not serve {request.Verb} on {kind.Resource}");
        }
    }

    private async Task WatchAsync(HttpContext http, ApiRequest request)
    {
        var query = http.Request.Query;
        var watch = _store.Watch(
            request.Kind,
            request.Namespace,
            LabelSelector.Parse(query["labelSelector"]),
            query["resourceVersion"],
            query["allowWatchBookmarks"] == "true");
        try
        {
            http.Response.StatusCode = 200;
            http.Response.ContentType = "application/json";
            using var timeout = int.TryParse(query["timeoutSeconds"], out var seconds) && seconds > 0 ? new CancellationTokenSource(TimeSpan.FromSeconds(seconds)) : new CancellationTokenSource();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, timeout.Token, _stopping.Token);
            await http.Response.StartAsync(linked.Token);
            try
            {
                await foreach (var line in watch.Lines.ReadAllAsync(linked.Token))
                {
                    await http.Response.WriteAsync(line + "\n", linked.Token);
                    await http.Response.Body.FlushAsync(linked.Token);
                }
            }
            catch (OperationCanceledException)
            {
                // The client went away, the timeout passed or the emulator stops: the watch ends.
            }
        }
        finally
        {
            _store.Unsubscribe(watch);
        }
    }

    private static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target is JsonObject targetObject ? (JsonObject)targetObject.DeepClone() : [];
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = MergePatch(result[key], value);
            }
        }

        return result;
    }

    private static async Task<JsonObject> ReadBodyAsync(HttpContext http)
        => await JsonNode.ParseAsync(http.Request.Body) as JsonObject ?? throw new ApiError(400, "BadRequest", "the body is not a JSON object");

    /// <summary>As the API server writes JSON: no escaping of characters that are safe in a JSON string.</summary>
    internal static readonly System.Text.Json.JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static async Task WriteAsync(HttpContext http, int code, JsonNode body)
    {
        http.Response.StatusCode = code;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(body.ToJsonString(Json));
    }
}
