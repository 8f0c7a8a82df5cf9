using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Bpi.Orchestration.Security.Monitoring;

/// <summary>Fans security events out to every current watcher.</summary>
internal sealed class SecurityEventHub
{
    private readonly Lock _lock = new();
    private readonly List<Channel<SecurityEvent>> _watchers = [];

    public void Publish(SecurityEvent securityEvent)
    {
        lock (_lock)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryWrite(securityEvent);
            }
        }
    }

    public async IAsyncEnumerable<SecurityEvent> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateUnbounded<SecurityEvent>(new UnboundedChannelOptions { SingleReader = true });
        lock (_lock)
        {
            _watchers.Add(channel);
        }

        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var item))
                {
                    yield return item;
                }
            }
        }
        finally
        {
            lock (_lock)
            {
                _watchers.Remove(channel);
            }
        }
    }

    /// <summary>How many watchers are subscribed (tests wait on it instead of sleeping).</summary>
    public int WatcherCount
    {
        get
        {
            lock (_lock)
            {
                return _watchers.Count;
            }
        }
    }
}
