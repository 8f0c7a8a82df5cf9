using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Bpi.Orchestration.Kubernetes.Emulator;

/// <summary>
/// The emulator's etcd: objects by (resource, namespace, name), one global resourceVersion counter, the event history
/// watches replay from, and the open watches. Every method takes the one lock; callers get deep copies.
/// </summary>
internal sealed class EmulatorStore
{
    private readonly Dictionary<(string Resource, string Ns, string Name), JsonObject> _objects = [];
    private readonly List<StoredEvent> _history = [];
    private readonly List<WatchSubscription> _watches = [];
    private long _resourceVersion = 1000;
    private long _compactedThrough;
    private long _uid;

    public Lock Gate { get; } = new();

    /// <summary>Called (under the lock) after every change of a deployment or a pod, so the controller can converge.</summary>
    public Action<EmulatedKind, JsonObject, bool>? Changed { get; set; }

    public long ResourceVersion
    {
        get
        {
            lock (Gate)
            {
                return _resourceVersion;
            }
        }
    }

    public JsonObject? Get(EmulatedKind kind, string? ns, string name)
    {
        lock (Gate)
        {
            return _objects.TryGetValue((kind.Resource, ns ?? "", name), out var obj) ? (JsonObject)obj.DeepClone() : null;
        }
    }

    public List<JsonObject> List(EmulatedKind kind, string? ns, LabelSelector selector)
    {
        lock (Gate)
        {
            return [.. _objects
                .Where(e => e.Key.Resource == kind.Resource && (ns is null || e.Key.Ns == ns) && selector.Matches(e.Value))
                .OrderBy(e => e.Key.Ns, StringComparer.Ordinal).ThenBy(e => e.Key.Name, StringComparer.Ordinal)
                .Select(e => (JsonObject)e.Value.DeepClone())];
        }
    }

    public JsonObject Create(EmulatedKind kind, string? ns, JsonObject obj)
    {
        lock (Gate)
        {
            var meta = Metadata(obj);
            var name = (string?)meta["name"];
            if (string.IsNullOrEmpty(name) && meta["generateName"] is { } prefix)
            {
                name = (string)prefix! + (++_uid).ToString("x5", CultureInfo.InvariantCulture);
                meta["name"] = name;
            }

            name ??= "";
            if (kind.Namespaced)
            {
                if (!_objects.ContainsKey(("namespaces", "", ns!)))
                {
                    throw ApiError.NotFound(EmulatedKind.Of("namespaces"), ns!);
                }

                meta["namespace"] = ns;
            }

            Validation.Check(kind, obj);
            if (_objects.ContainsKey((kind.Resource, ns ?? "", name)))
            {
                throw ApiError.AlreadyExists(kind, name);
            }

            obj["apiVersion"] = kind.ApiVersion;
            obj["kind"] = kind.Kind;
            meta["uid"] = Guid.CreateVersion7().ToString();
            meta["creationTimestamp"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            if (kind.HasSpec)
            {
                meta["generation"] = 1L;
            }

            if (kind.Resource == "namespaces")
            {
                obj["status"] = new JsonObject { ["phase"] = "Active" };
            }

            return Commit(kind, ns, name, obj, "ADDED", false);
        }
    }

    /// <summary>Replaces an object (a PUT, or the result of a PATCH), checking the resourceVersion it carries.</summary>
    public JsonObject Replace(EmulatedKind kind, string? ns, string name, JsonObject obj, bool statusOnly = false)
    {
        lock (Gate)
        {
            if (!_objects.TryGetValue((kind.Resource, ns ?? "", name), out var current))
            {
                throw ApiError.NotFound(kind, name);
            }

            var meta = Metadata(obj);
            if ((string?)meta["resourceVersion"] is { Length: > 0 } expected && expected != (string?)current["metadata"]!["resourceVersion"])
            {
                throw ApiError.Conflict(kind, name);
            }

            JsonObject next;
            if (statusOnly)
            {
                next = (JsonObject)current.DeepClone();
                next["status"] = obj["status"]?.DeepClone();
            }
            else
            {
                Validation.Check(kind, obj);
                next = (JsonObject)obj.DeepClone();
                var nextMeta = Metadata(next);
                foreach (var key in new[] { "uid", "creationTimestamp", "namespace", "name", "generation", "ownerReferences" })
                {
                    if (key == "ownerReferences" && nextMeta.ContainsKey(key))
                    {
                        continue;
                    }

                    nextMeta[key] = current["metadata"]![key]?.DeepClone();
                }

                next["apiVersion"] = kind.ApiVersion;
                next["kind"] = kind.Kind;
                if (kind.HasSpec || kind.Resource is "pods" or "namespaces")
                {
                    // The status subresource: a PUT of the main resource keeps the status the server has.
                    next["status"] = current["status"]?.DeepClone();
                }

                if (kind.HasSpec && !JsonNode.DeepEquals(current["spec"], next["spec"]))
                {
                    nextMeta["generation"] = (current["metadata"]!["generation"] is { } generation ? long.Parse(generation.ToJsonString(), CultureInfo.InvariantCulture) : 0L) + 1L;
                }
            }

            if (JsonNode.DeepEquals(StripVersion(current), StripVersion(next)))
            {
                return (JsonObject)current.DeepClone();
            }

            return Commit(kind, ns, name, next, "MODIFIED", statusOnly);
        }
    }

    public JsonObject Delete(EmulatedKind kind, string? ns, string name)
    {
        lock (Gate)
        {
            if (!_objects.Remove((kind.Resource, ns ?? "", name), out var current))
            {
                throw ApiError.NotFound(kind, name);
            }

            current["metadata"]!["resourceVersion"] = Next();
            Publish(kind, ns, "DELETED", current);
            if (kind.Resource == "namespaces")
            {
                foreach (var key in _objects.Keys.Where(k => k.Ns == name).ToList())
                {
                    Delete(EmulatedKind.Of(key.Resource), key.Ns, key.Name);
                }
            }

            Changed?.Invoke(kind, current, false);
            return (JsonObject)current.DeepClone();
        }
    }

    /// <summary>Opens a watch: replays what happened after <paramref name="resourceVersion"/> (or the current objects as ADDED).</summary>
    public WatchSubscription Watch(EmulatedKind kind, string? ns, LabelSelector selector, string? resourceVersion, bool bookmarks)
    {
        lock (Gate)
        {
            var watch = new WatchSubscription(kind, ns, selector, bookmarks);
            if (string.IsNullOrEmpty(resourceVersion) || resourceVersion == "0")
            {
                foreach (var obj in List(kind, ns, selector))
                {
                    watch.Offer("ADDED", obj);
                }
            }
            else
            {
                var from = long.Parse(resourceVersion, CultureInfo.InvariantCulture);
                if (from < _compactedThrough)
                {
                    watch.Fail(ApiError.Gone(resourceVersion));
                    return watch;
                }

                foreach (var e in _history.Where(e => e.ResourceVersion > from && e.Kind == kind && (ns is null || e.Ns == ns) && selector.Matches(e.Object)))
                {
                    watch.Offer(e.Type, (JsonObject)e.Object.DeepClone());
                }
            }

            if (bookmarks)
            {
                watch.Bookmark(kind, _resourceVersion);
            }

            _watches.Add(watch);
            return watch;
        }
    }

    public void Unsubscribe(WatchSubscription watch)
    {
        lock (Gate)
        {
            _watches.Remove(watch);
        }
    }

    /// <summary>The events of a kind since the last compaction, oldest first (copies).</summary>
    public List<(string Type, JsonObject Object)> History(EmulatedKind kind)
    {
        lock (Gate)
        {
            return [.. _history.Where(e => e.Kind == kind).Select(e => (e.Type, (JsonObject)e.Object.DeepClone()))];
        }
    }

    /// <summary>Forgets the history up to now: a watch from an older resourceVersion gets 410 Gone.</summary>
    public void Compact()
    {
        lock (Gate)
        {
            _compactedThrough = _resourceVersion;
            _history.Clear();
        }
    }

    public void SendBookmarks()
    {
        lock (Gate)
        {
            foreach (var watch in _watches.Where(w => w.Bookmarks))
            {
                watch.Bookmark(watch.Kind, _resourceVersion);
            }
        }
    }

    /// <summary>Ends every open watch with 410 Gone after compacting, as an API server does when its watch cache moved on.</summary>
    public void ExpireWatches()
    {
        lock (Gate)
        {
            Compact();
            foreach (var watch in _watches)
            {
                watch.Fail(ApiError.Gone("0"));
            }

            _watches.Clear();
        }
    }

    public int OpenWatches
    {
        get
        {
            lock (Gate)
            {
                return _watches.Count;
            }
        }
    }

    private JsonObject Commit(EmulatedKind kind, string? ns, string name, JsonObject obj, string type, bool statusOnly)
    {
        Metadata(obj)["resourceVersion"] = Next();
        _objects[(kind.Resource, ns ?? "", name)] = obj;
        Publish(kind, ns, type, obj);
        Changed?.Invoke(kind, obj, statusOnly);
        return (JsonObject)obj.DeepClone();
    }

    private void Publish(EmulatedKind kind, string? ns, string type, JsonObject obj)
    {
        var rv = long.Parse((string)obj["metadata"]!["resourceVersion"]!, CultureInfo.InvariantCulture);
        _history.Add(new StoredEvent(rv, kind, ns ?? "", type, (JsonObject)obj.DeepClone()));
        foreach (var watch in _watches.Where(w => w.Kind == kind && (w.Namespace is null || w.Namespace == (ns ?? "")) && w.Selector.Matches(obj)))
        {
            watch.Offer(type, (JsonObject)obj.DeepClone());
        }
    }

    private string Next() => (++_resourceVersion).ToString(CultureInfo.InvariantCulture);

    private static JsonObject Metadata(JsonObject obj)
    {
        if (obj["metadata"] is not JsonObject meta)
        {
            meta = [];
            obj["metadata"] = meta;
        }

        return meta;
    }

    private static JsonNode StripVersion(JsonObject obj)
    {
        var copy = (JsonObject)obj.DeepClone();
        Metadata(copy).Remove("resourceVersion");
        return copy;
    }

    private sealed record StoredEvent(long ResourceVersion, EmulatedKind Kind, string Ns, string Type, JsonObject Object);
}

/// <summary>One open watch: the events for it, as the lines of the response body.</summary>
internal sealed class WatchSubscription(EmulatedKind kind, string? ns, LabelSelector selector, bool bookmarks)
{
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();

    public EmulatedKind Kind { get; } = kind;

    public string? Namespace { get; } = ns;

    public LabelSelector Selector { get; } = selector;

    public bool Bookmarks { get; } = bookmarks;

    public ChannelReader<string> Lines => _lines.Reader;

    public void Offer(string type, JsonObject obj) => _lines.Writer.TryWrite(new JsonObject { ["type"] = type, ["object"] = obj }.ToJsonString(KubernetesEmulator.Json));

    public void Bookmark(EmulatedKind kind, long resourceVersion) => Offer("BOOKMARK", new JsonObject
    {
        ["kind"] = kind.Kind,
        ["apiVersion"] = kind.ApiVersion,
        ["metadata"] = new JsonObject { ["resourceVersion"] = resourceVersion.ToString(CultureInfo.InvariantCulture) },
    });

    public void Fail(ApiError error)
    {
        _lines.Writer.TryWrite(new JsonObject { ["type"] = "ERROR", ["object"] = error.ToStatus() }.ToJsonString(KubernetesEmulator.Json));
        _lines.Writer.TryComplete();
    }

    public void Close() => _lines.Writer.TryComplete();
}
