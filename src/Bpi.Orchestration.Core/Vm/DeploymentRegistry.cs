using System.Collections.Concurrent;
using System.Globalization;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Telemetry;
using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration;

/// <summary>
/// The deployments the orchestrator knows: every entry by id, the live ones by environment and name (so admission finds a
/// duplicate in constant time), and the destroyed ones oldest first, forgotten beyond the retention.
/// </summary>
internal sealed class DeploymentRegistry(IDeploymentStore store, ILogger logger, int destroyedRetained)
{
    private readonly ConcurrentDictionary<string, DeploymentEntry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Environment, string Name), string> _liveNames = new();

    /// <summary>Destroyed deployments, oldest first, so the oldest beyond the retention are forgotten.</summary>
    private readonly ConcurrentQueue<string> _destroyed = new();
    private int _destroyedCount;

    public ICollection<DeploymentEntry> Entries => _entries.Values;

    public bool Contains(string deploymentId) => _entries.ContainsKey(deploymentId);

    public bool TryGet(string deploymentId, out DeploymentEntry entry) => _entries.TryGetValue(deploymentId, out entry!);

    public DeploymentEntry Find(string deploymentId)
        => _entries.TryGetValue(deploymentId, out var entry)
            ? entry
            : throw new OrchestrationException(OrchestrationErrorKind.NotFound, NotFoundMessage(deploymentId));

    public string NotFoundMessage(string deploymentId)
        => $"No deployment has the id '{deploymentId}'; list deployments with ListAsync to find its id (only the newest {destroyedRetained.ToString(CultureInfo.InvariantCulture)} destroyed deployments are remembered; the audit trail keeps the others).";

    /// <summary>Adds a deployment; a live one also claims its name in its environment.</summary>
    public void Add(DeploymentEntry entry)
    {
        var record = entry.Record;
        _entries[record.Id] = entry;
        if (record.State.IsLive())
        {
            _liveNames[LiveNameKey(record.CurrentSpec)] = record.Id;
        }
    }

    /// <summary>The id of the live deployment with this spec's name in its environment, if there is one.</summary>
    public bool TryGetLive(DeploymentSpec spec, out string deploymentId) => _liveNames.TryGetValue(LiveNameKey(spec), out deploymentId!);

    /// <summary>Remembers a destroyed deployment found in the store on start.</summary>
    public void RememberDestroyed(string deploymentId)
    {
        _destroyed.Enqueue(deploymentId);
        Interlocked.Increment(ref _destroyedCount);
    }

    /// <summary>Raised with a deployment's id when it is destroyed, so what is kept only for live deployments is dropped.</summary>
    public event Action<string>? Destroyed;

    /// <summary>Frees the deployment's name and remembers it as destroyed, forgetting the oldest beyond the retention.</summary>
    public ValueTask OnDestroyedAsync(DeploymentRecord record)
    {
        _liveNames.TryRemove(KeyValuePair.Create(LiveNameKey(record.CurrentSpec), record.Id));
        if (_entries.TryGetValue(record.Id, out var entry))
        {
            // A destroyed deployment is never healed again, and is kept only for queries.
            entry.Retire();
        }

        Destroyed?.Invoke(record.Id);
        _destroyed.Enqueue(record.Id);
        return Interlocked.Increment(ref _destroyedCount) > destroyedRetained ? ForgetOldDestroyedAsync() : ValueTask.CompletedTask;
    }

    public async ValueTask ForgetOldDestroyedAsync()
    {
        while (Volatile.Read(ref _destroyedCount) > destroyedRetained && _destroyed.TryDequeue(out var id))
        {
            Interlocked.Decrement(ref _destroyedCount);

            // Destroy is final and ids are never reused, so the entry under this id is the destroyed one.
            _entries.TryRemove(id, out _);
            try
            {
                await store.DeleteAsync(id, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.ForgetFailed(logger, ex, id);
            }
        }
    }

    /// <summary>The name, a dash and 8 random hex digits (32 random bits; ids are not secrets, so no cryptographic generator), never one remembered.</summary>
    public string NewDeploymentId(string name)
    {
        var id = NewId(name);
        while (_entries.ContainsKey(id))
        {
            // 32 random bits can repeat for a name deployed over and over: never reuse a remembered id.
            id = NewId(name);
        }

        return id;

        static string NewId(string name)
            => string.Create(name.Length + 9, name, static (chars, name) =>
            {
                name.AsSpan().CopyTo(chars);
                chars[name.Length] = '-';
                Span<byte> random = stackalloc byte[4];
                Random.Shared.NextBytes(random);
                Convert.TryToHexStringLower(random, chars[(name.Length + 1)..], out _);
            });
    }

    /// <summary>The key of a name in its environment: a pair, so finding one builds no string.</summary>
    private static (string Environment, string Name) LiveNameKey(DeploymentSpec spec) => (spec.Environment, spec.Name);
}
