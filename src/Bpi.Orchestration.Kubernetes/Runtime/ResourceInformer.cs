using System.Collections.Concurrent;
using System.Globalization;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Kubernetes.Runtime;

/// <summary>
/// A cache of one kind of object, kept current by a watch as client-go's informers keep theirs: list once, then watch
/// from the list's resourceVersion, follow every event's (and every BOOKMARK's) resourceVersion, re-watch from it
/// when the server ends the stream, and list again when the server answers 410 Gone. Readers never poll the API server.
/// </summary>
internal sealed class ResourceInformer<T> : IAsyncDisposable
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly string _resource;
    private readonly Func<CancellationToken, Task<(IEnumerable<T> Items, string ResourceVersion)>> _list;
    private readonly Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> _watch;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, T> _items = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _synced;
    private Task? _loop;
    private string _resourceVersion = "";

    public ResourceInformer(
        string resource,
        Func<CancellationToken, Task<(IEnumerable<T> Items, string ResourceVersion)>> list,
        Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch,
        TimeProvider timeProvider,
        ILogger logger)
    {
        _resource = resource;
        _list = list;
        _watch = watch;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>How often the informer listed (1 after the start; more after 410 Gone or a failed watch).</summary>
    public int Lists { get; private set; }

    public string ResourceVersion => Volatile.Read(ref _resourceVersion);

    public ICollection<T> Items => _items.Values;

    /// <summary>Lists (once) and starts watching; a failed first list is thrown (and retried by the next call).</summary>
    public Task EnsureSyncedAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_synced is null || _synced.IsFaulted)
            {
                _synced = ListAsync(_stop.Token);
                _loop = null;
            }
        }

        return WaitStartedAsync(cancellationToken);
    }

    /// <summary>Waits until the cache has seen <paramref name="resourceVersion"/> (numeric resourceVersions only; others return at once) or the timeout passes.</summary>
    public async Task WaitForAsync(string? resourceVersion, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!long.TryParse(resourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var wanted))
        {
            return;
        }

        var deadline = _timeProvider.GetTimestamp() + (long)(timeout.TotalSeconds * _timeProvider.TimestampFrequency);
        while (!(long.TryParse(ResourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var seen) && seen >= wanted))
        {
            var left = _timeProvider.GetElapsedTime(_timeProvider.GetTimestamp(), deadline);
            if (left <= TimeSpan.Zero)
            {
                return;
            }

            Task changed;
            lock (_gate)
            {
                changed = _changed.Task;
            }

            try
            {
                await changed.WaitAsync(left, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return;
            }
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds on the cache, re-checking on every change, or the timeout passes.</summary>
    /// <returns>Whether the condition held.</returns>
    public async Task<bool> WaitUntilAsync(Func<ICollection<T>, bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = _timeProvider.GetTimestamp();
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                changed = _changed.Task;
            }

            if (condition(Items))
            {
                return true;
            }

            var left = timeout - _timeProvider.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            try
            {
                await changed.WaitAsync(left, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return condition(Items);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is { } loop)
        {
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
        }

        _stop.Dispose();
    }

    private async Task WaitStartedAsync(CancellationToken cancellationToken)
    {
        Task synced;
        lock (_gate)
        {
            synced = _synced!;
        }

        await synced.WaitAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _loop ??= Task.Run(() => WatchLoopAsync(_stop.Token), CancellationToken.None);
        }
    }

    private async Task ListAsync(CancellationToken cancellationToken)
    {
        var (items, resourceVersion) = await _list(cancellationToken).ConfigureAwait(false);
        var fresh = items.ToDictionary(Key, StringComparer.Ordinal);
        foreach (var key in _items.Keys.Where(k => !fresh.ContainsKey(k)))
        {
            _items.TryRemove(key, out _);
        }

        foreach (var (key, item) in fresh)
        {
            _items[key] = item;
        }

        Lists++;
        Advance(resourceVersion);
    }

    private async Task WatchLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var gone = false;
            try
            {
                await foreach (var (type, item) in _watch(ResourceVersion, e => gone |= e is KubernetesException { Status.Code: 410 }, cancellationToken).ConfigureAwait(false))
                {
                    switch (type)
                    {
                        case WatchEventType.Added or WatchEventType.Modified:
                            _items[Key(item)] = item;
                            break;
                        case WatchEventType.Deleted:
                            _items.TryRemove(Key(item), out _);
                            break;
                    }

                    Advance(item.Metadata?.ResourceVersion);
                }

                if (gone)
                {
                    Log.WatchExpired(_logger, _resource);
                    await ListAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or IOException or KubernetesException or OrchestrationException)
            {
                Log.WatchFailed(_logger, ex, _resource);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), _timeProvider, cancellationToken).ConfigureAwait(false);
                    await ListAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception again) when (again is HttpOperationException or HttpRequestException or IOException or OrchestrationException)
                {
                    Log.WatchFailed(_logger, again, _resource);
                }
            }
        }
    }

    private void Advance(string? resourceVersion)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            if (!string.IsNullOrEmpty(resourceVersion))
            {
                _resourceVersion = resourceVersion;
            }

            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    private static string Key(T item) => item.Metadata.NamespaceProperty + "/" + item.Metadata.Name;
}
