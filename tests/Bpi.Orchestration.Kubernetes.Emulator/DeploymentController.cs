using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Bpi.Orchestration.Kubernetes.Emulator;

/// <summary>What an emulated pod does once created: the readiness a test scripts.</summary>
public enum PodBehavior
{
    /// <summary>Scheduled, running and ready at once.</summary>
    Ready = 0,

    /// <summary>Scheduled, its container still being created (not ready) until scripted otherwise.</summary>
    Pending,

    /// <summary>Running but failing its readiness probe.</summary>
    NotReady,

    /// <summary>The container keeps exiting: <c>CrashLoopBackOff</c> with exit code 1.</summary>
    CrashLoop,

    /// <summary>The image cannot be pulled: <c>ImagePullBackOff</c>.</summary>
    ImagePullError,

    /// <summary>No node fits: <c>PodScheduled=False</c>, reason <c>Unschedulable</c>.</summary>
    Unschedulable,
}

/// <summary>
/// The emulator's stand-in for the Deployment and ReplicaSet controllers and the kubelet: converges every Deployment's
/// pods to its replicas and template (pods of an old template are replaced at once), gives each pod the status its
/// scripted <see cref="PodBehavior"/> implies, enforces a namespace's Pod Security <c>restricted</c> level, and writes
/// the Deployment's status (observedGeneration, replicas, updated/ready/available, the Available, Progressing and
/// ReplicaFailure conditions). Runs synchronously inside each write, under the store's lock.
/// </summary>
internal sealed class DeploymentController
{
    private static readonly EmulatedKind Deployments = EmulatedKind.Of("deployments");
    private static readonly EmulatedKind Pods = EmulatedKind.Of("pods");
    private static readonly EmulatedKind Namespaces = EmulatedKind.Of("namespaces");

    private readonly EmulatorStore _store;
    private readonly Queue<(string Ns, string Name)> _pending = new();
    private readonly HashSet<(string Ns, string Name)> _deadlineExceeded = [];
    private readonly List<(LabelSelector Selector, string? Image, PodBehavior Behavior)> _scripts = [];
    private bool _running;
    private int _podCounter;

    public DeploymentController(EmulatorStore store)
    {
        _store = store;
        store.Changed = OnChanged;
    }

    public void Script(LabelSelector selector, string? image, PodBehavior behavior)
    {
        lock (_store.Gate)
        {
            _scripts.Insert(0, (selector, image, behavior));
            foreach (var pod in _store.List(Pods, null, LabelSelector.Everything))
            {
                if (Matches(selector, image, pod))
                {
                    pod["status"] = PodStatus(pod, behavior);
                    _store.Replace(Pods, (string?)pod["metadata"]!["namespace"], (string)pod["metadata"]!["name"]!, pod, statusOnly: true);
                }
            }
        }
    }

    public void ExceedProgressDeadline(string ns, string name)
    {
        lock (_store.Gate)
        {
            _deadlineExceeded.Add((ns, name));
            Enqueue(ns, name);
        }
    }

    private void OnChanged(EmulatedKind kind, JsonObject obj, bool statusOnly)
    {
        var ns = (string?)obj["metadata"]!["namespace"] ?? "";
        if (kind == Deployments && !statusOnly)
        {
            Enqueue(ns, (string)obj["metadata"]!["name"]!);
        }
        else if (kind == Pods && obj["metadata"]!["ownerReferences"]?[0]?["name"] is { } owner)
        {
            var rs = (string)owner!;
            Enqueue(ns, rs[..rs.LastIndexOf('-')]);
        }
    }

    private void Enqueue(string ns, string name)
    {
        _pending.Enqueue((ns, name));
        if (_running)
        {
            return;
        }

        _running = true;
        try
        {
            while (_pending.TryDequeue(out var next))
            {
                Reconcile(next.Ns, next.Name);
            }
        }
        finally
        {
            _running = false;
        }
    }

    private void Reconcile(string ns, string name)
    {
        var deployment = _store.Get(Deployments, ns, name);
        var owned = _store.List(Pods, ns, LabelSelector.Everything)
            .Where(p => ((string?)p["metadata"]!["ownerReferences"]?[0]?["name"])?.StartsWith(name + "-", StringComparison.Ordinal) == true
                && (string?)p["metadata"]!["ownerReferences"]?[0]?["kind"] == "ReplicaSet"
                && ((string)p["metadata"]!["ownerReferences"]![0]!["name"]!)[..((string)p["metadata"]!["ownerReferences"]![0]!["name"]!).LastIndexOf('-')] == name)
            .ToList();
        if (deployment is null)
        {
            foreach (var pod in owned)
            {
                _store.Delete(Pods, ns, (string)pod["metadata"]!["name"]!);
            }

            _deadlineExceeded.Remove((ns, name));
            return;
        }

        var spec = deployment["spec"]!;
        var replicas = (int?)spec["replicas"] ?? 1;
        var template = spec["template"]!;
        var hash = Hash(template.ToJsonString());
        string? failure = null;

        foreach (var stale in owned.Where(p => (string?)p["metadata"]!["labels"]?["pod-template-hash"] != hash).ToList())
        {
            _store.Delete(Pods, ns, (string)stale["metadata"]!["name"]!);
            owned.Remove(stale);
        }

        // Surplus: not-ready pods first, then the newest.
        foreach (var surplus in owned.OrderBy(IsReady).ThenByDescending(p => (string?)p["metadata"]!["creationTimestamp"]).ThenByDescending(p => (string)p["metadata"]!["name"]!).Take(Math.Max(0, owned.Count - replicas)).ToList())
        {
            _store.Delete(Pods, ns, (string)surplus["metadata"]!["name"]!);
            owned.Remove(surplus);
        }

        var restricted = (string?)_store.Get(Namespaces, null, ns)?["metadata"]?["labels"]?["pod-security.kubernetes.io/enforce"] == "restricted";
        for (var missing = replicas - owned.Count; missing > 0; missing--)
        {
            var podName = $"{name}-{hash}-{(++_podCounter).ToString("x5", CultureInfo.InvariantCulture)}";
            var pod = new JsonObject
            {
                ["metadata"] = new JsonObject
                {
                    ["name"] = podName,
                    ["labels"] = (template["metadata"]?["labels"]?.DeepClone() as JsonObject ?? []).Also(l => l["pod-template-hash"] = hash),
                    ["annotations"] = template["metadata"]?["annotations"]?.DeepClone(),
                    ["ownerReferences"] = new JsonArray(new JsonObject { ["apiVersion"] = "apps/v1", ["kind"] = "ReplicaSet", ["name"] = $"{name}-{hash}", ["uid"] = deployment["metadata"]!["uid"]!.DeepClone(), ["controller"] = true }),
                },
                ["spec"] = template["spec"]!.DeepClone(),
            };
            var violations = restricted ? PodSecurity.Restricted(pod["spec"]!) : [];
            if (violations.Count > 0)
            {
                failure = $"pods \"{podName}\" is forbidden: violates PodSecurity \"restricted:latest\": {string.Join(", ", violations)}";
                break;
            }

            var created = _store.Create(Pods, ns, pod);
            created["status"] = PodStatus(created, BehaviorOf(created));
            owned.Add(_store.Replace(Pods, ns, podName, created, statusOnly: true));
        }

        WriteStatus(ns, name, replicas, hash, failure);
    }

    private void WriteStatus(string ns, string name, int replicas, string hash, string? failure)
    {
        var deployment = _store.Get(Deployments, ns, name)!;
        var pods = _store.List(Pods, ns, LabelSelector.Everything)
            .Where(p => ((string?)p["metadata"]!["ownerReferences"]?[0]?["name"]) is { } rs && rs[..rs.LastIndexOf('-')] == name)
            .ToList();
        var updated = pods.Count(p => (string?)p["metadata"]!["labels"]?["pod-template-hash"] == hash);
        var ready = pods.Count(IsReady);
        var complete = updated == replicas && ready == replicas && pods.Count == replicas;
        var conditions = new JsonArray
        {
            Condition("Available", ready >= replicas ? "True" : "False", ready >= replicas ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable", ready >= replicas ? "Deployment has minimum availability." : "Deployment does not have minimum availability."),
            _deadlineExceeded.Contains((ns, name)) && !complete
                ? Condition("Progressing", "False", "ProgressDeadlineExceeded", $"ReplicaSet \"{name}-{hash}\" has timed out progressing.")
                : Condition("Progressing", "True", complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated", complete ? $"ReplicaSet \"{name}-{hash}\" has successfully progressed." : $"ReplicaSet \"{name}-{hash}\" is progressing."),
        };
        if (failure is not null)
        {
            conditions.Add(Condition("ReplicaFailure", "True", "FailedCreate", failure));
        }

        deployment["status"] = new JsonObject
        {
            ["observedGeneration"] = deployment["metadata"]!["generation"]!.DeepClone(),
            ["replicas"] = pods.Count,
            ["updatedReplicas"] = updated,
            ["readyReplicas"] = ready,
            ["availableReplicas"] = ready,
            ["unavailableReplicas"] = Math.Max(0, replicas - ready),
            ["conditions"] = conditions,
        };
        _store.Replace(Deployments, ns, name, deployment, statusOnly: true);
    }

    private PodBehavior BehaviorOf(JsonObject pod)
        => _scripts.FirstOrDefault(s => Matches(s.Selector, s.Image, pod)) is { Selector: not null } script ? script.Behavior : PodBehavior.Ready;

    private static bool Matches(LabelSelector selector, string? image, JsonObject pod)
        => selector.Matches(pod) && (image is null || (pod["spec"]?["containers"] as JsonArray ?? []).Any(c => (string?)c?["image"] == image));

    private static bool IsReady(JsonObject pod)
        => (pod["status"]?["conditions"] as JsonArray ?? []).Any(c => (string?)c?["type"] == "Ready" && (string?)c?["status"] == "True");

    private static JsonObject PodStatus(JsonObject pod, PodBehavior behavior)
    {
        var now = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var podName = (string)pod["metadata"]!["name"]!;
        var containers = pod["spec"]?["containers"] as JsonArray ?? [];
        var scheduled = behavior != PodBehavior.Unschedulable;
        var running = behavior is PodBehavior.Ready or PodBehavior.NotReady or PodBehavior.CrashLoop;
        var ready = behavior == PodBehavior.Ready;
        var statuses = new JsonArray();
        foreach (var container in containers)
        {
            var name = (string?)container?["name"] ?? "app";
            var image = (string?)container?["image"] ?? "";
            JsonObject state = behavior switch
            {
                PodBehavior.Ready or PodBehavior.NotReady => new JsonObject { ["running"] = new JsonObject { ["startedAt"] = now } },
                PodBehavior.CrashLoop => new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "CrashLoopBackOff", ["message"] = $"back-off 40s restarting failed container={name} pod={podName}" } },
                PodBehavior.ImagePullError => new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "ImagePullBackOff", ["message"] = $"Back-off pulling image \"{image}\"" } },
                _ => new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "ContainerCreating" } },
            };
            if (scheduled)
            {
                statuses.Add(new JsonObject
                {
                    ["name"] = name,
                    ["image"] = image,
                    ["ready"] = ready,
                    ["started"] = running && behavior != PodBehavior.CrashLoop,
                    ["restartCount"] = behavior == PodBehavior.CrashLoop ? 3 : 0,
                    ["state"] = state,
                    ["lastState"] = behavior == PodBehavior.CrashLoop
                        ? new JsonObject { ["terminated"] = new JsonObject { ["exitCode"] = 1, ["reason"] = "Error", ["startedAt"] = now, ["finishedAt"] = now } }
                        : new JsonObject(),
                });
            }
        }

        var conditions = new JsonArray
        {
            scheduled ? Condition("PodScheduled", "True", null, null) : Condition("PodScheduled", "False", "Unschedulable", "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."),
        };
        if (scheduled)
        {
            conditions.Add(Condition("Ready", ready ? "True" : "False", ready ? null : "ContainersNotReady", ready ? null : "containers with unready status: [app]"));
            conditions.Add(Condition("ContainersReady", ready ? "True" : "False", ready ? null : "ContainersNotReady", null));
        }

        var status = new JsonObject
        {
            ["phase"] = running ? "Running" : "Pending",
            ["conditions"] = conditions,
            ["containerStatuses"] = statuses,
        };
        if (scheduled)
        {
            var n = (uint)podName.GetHashCode(StringComparison.Ordinal);
            status["podIP"] = $"10.{(n >> 16) & 0xff}.{(n >> 8) & 0xff}.{(n & 0xfe) + 1}";
            status["hostIP"] = "192.168.0.10";
            status["startTime"] = now;
        }

        return status;
    }

    private static JsonObject Condition(string type, string status, string? reason, string? message) => new()
    {
        ["type"] = type,
        ["status"] = status,
        ["reason"] = reason,
        ["message"] = message,
    };

    private static string Hash(string text)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            hash = (hash ^ b) * 16777619u;
        }

        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        var chars = new char[10];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = alphabet[(int)(hash % (uint)alphabet.Length)];
            hash = (hash / (uint)alphabet.Length) ^ (hash * 2654435761u);
        }

        return new string(chars);
    }
}

internal static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject obj, Action<JsonObject> change)
    {
        change(obj);
        return obj;
    }
}
