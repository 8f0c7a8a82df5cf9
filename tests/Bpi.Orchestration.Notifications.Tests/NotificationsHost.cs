using System.Diagnostics.Metrics;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Security;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Notifications.Tests;

/// <summary>An orchestrator on the in-memory runtime with a manual clock, the Strategies package and notifications, its notifier started.</summary>
internal sealed class NotificationsHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Instrument, string Key, string Outcome), long> _counts = [];

    public NotificationsHost(Action<NotificationOptions>? notifications, Action<InMemoryRuntimeOptions>? runtime = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Debug));
        services.AddSingleton<ISecurityGate>(new ImageGate("evil:1"));
        var builder = services.AddOrchestration(o =>
            {
                o.VmId = "vm-alerts";
                o.SelfHealing = true;
            })
            .UseTimeProvider(Clock)
            .AddInMemoryRuntime(runtime)
            .AddInMemoryTrafficRouter()
            .AddStrategies()
            .UseAuditSink(new InMemoryAuditSink(10_000));
        if (notifications is not null)
        {
            builder.AddNotifications(notifications);
        }

        _provider = services.BuildServiceProvider();

        // The counters of this host's channels and rules only: tests run in parallel, each with its own names.
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name is NotificationTelemetry.DeliveriesName or NotificationTelemetry.SuppressedName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? key = null, outcome = null;
            foreach (var tag in tags)
            {
                if (tag.Key is "channel.name" or "rule.name")
                {
                    key = tag.Value as string;
                }
                else if (tag.Key is "outcome" or "reason")
                {
                    outcome = tag.Value as string;
                }
            }

            lock (_gate)
            {
                var k = (instrument.Name, key ?? "", outcome ?? "");
                _counts[k] = _counts.GetValueOrDefault(k) + value;
            }
        });
        _listener.Start();
    }

    public ManualTimeProvider Clock { get; } = new();

    public CapturingLoggerProvider Logs { get; } = new();

    public IOrchestrationVm Vm => _provider.GetRequiredService<IOrchestrationVm>();

    public InMemoryWorkloadRuntime Runtime => _provider.GetRequiredService<InMemoryWorkloadRuntime>();

    internal NotificationDispatcher Notifier => _provider.GetRequiredService<NotificationDispatcher>();

    public IServiceProvider Services => _provider;

    public static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    public Task StartNotifierAsync() => Notifier.StartAsync(CancellationToken.None);

    /// <summary>A delivery outcome (delivered, failed, dropped) counted for a channel.</summary>
    public long Deliveries(string channel, string outcome) => Count(NotificationTelemetry.DeliveriesName, channel, outcome);

    /// <summary>A rule's suppressed notifications by reason (duplicate, rate_limited).</summary>
    public long Suppressed(string rule, string reason) => Count(NotificationTelemetry.SuppressedName, rule, reason);

    public Task<DeploymentStatus> SettleAsync(string id) => Clock.RunUntilAsync(Vm.WaitUntilSettledAsync(id, Timeout()), cancellationToken: Timeout());

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _provider.DisposeAsync();
        Logs.Dispose();
    }

    private long Count(string instrument, string key, string outcome)
    {
        lock (_gate)
        {
            return _counts.GetValueOrDefault((instrument, key, outcome));
        }
    }

    /// <summary>A security gate that refuses one image.</summary>
    private sealed class ImageGate(string refused) : ISecurityGate
    {
        public ValueTask<SecurityGateResult> EvaluateAsync(DeploymentSpec spec, CancellationToken cancellationToken = default)
            => ValueTask.FromResult(spec.Components.Any(c => c.Image == refused)
                ? new SecurityGateResult(false, 2.0, [$"image {refused} is on the deny list"])
                : new SecurityGateResult(true, 9.0, []));
    }
}
