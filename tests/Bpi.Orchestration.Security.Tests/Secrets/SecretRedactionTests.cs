using System.Text;
using System.Text.Json;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Security.Compliance;
using Bpi.Orchestration.Security.Monitoring;
using Bpi.Orchestration.Security.Remediation;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Security.Tests.Secrets;

public sealed class SecretRedactionTests : IDisposable
{
    private const string Planted = "planted-Secret-9f8e7d6c";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bpi-sec-" + Guid.NewGuid().ToString("N"));
    private readonly string _key = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    [Fact]
    public async Task A_planted_secret_reaches_the_runtime_but_never_logs_events_errors_status_audit_or_disk()
    {
        var logs = new CapturingLoggerProvider();
        var runtime = new RecordingRuntime();
        var seen = new StringBuilder();
        string deploymentId;
        await using (var host = Host(logs, runtime))
        {
            using var cancel = new CancellationTokenSource();
            var vmEvents = Collect(host.Vm.WatchAsync(cancellationToken: cancel.Token), seen);
            var securityEvents = Collect(host.Get<ISecurityMonitor>().WatchAsync(cancel.Token), seen);

            var spec = TestSpecs.Hardened().WithComponent(c => c with { Secrets = new Dictionary<string, string> { ["DB_PASSWORD"] = Planted } });
            var status = await host.DeployAndSettleAsync(spec);
            deploymentId = status.Id;
            Assert.Equal(DeploymentState.Running, status.State);

            // A refused update carrying the secret: the error lists findings, never values.
            var refused = spec.WithComponent(c => c.WithSettings((DockLockSettings.AddCapabilities, "SYS_ADMIN")));
            var error = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.UpdateAsync(deploymentId, refused));
            seen.AppendLine(error.ToString()).AppendLine(string.Join("\n", error.Errors));

            // An invalid spec carrying the secret.
            var invalid = spec.WithComponent(c => c with { Replicas = -1 });
            seen.AppendLine((await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.UpdateAsync(deploymentId, invalid))).ToString());

            seen.AppendLine(JsonSerializer.Serialize(await host.Vm.GetStatusAsync(deploymentId)));
            seen.AppendLine(JsonSerializer.Serialize(await host.Vm.ListAsync()));
            seen.AppendLine(JsonSerializer.Serialize(await host.Vm.GetStateAsync()));
            var assessment = await host.Get<ISecurityMonitor>().AssessDeploymentAsync(deploymentId);
            seen.AppendLine(JsonSerializer.Serialize(assessment));
            seen.AppendLine(ComplianceReporter.ToHtml(ComplianceReporter.Create(assessment, ComplianceCatalog.BuiltIn.GetFramework("pci-dss-4.0"))));
            var remediation = await host.Get<SecurityRemediator>().RemediateAsync(refused);
            seen.AppendLine(string.Join("\n", remediation.Actions)).AppendLine(remediation.Before.ToString());
            foreach (var entry in host.Audit.Snapshot())
            {
                seen.AppendLine(JsonSerializer.Serialize(entry));
            }

            await cancel.CancelAsync();
            await Task.WhenAll(vmEvents, securityEvents);
        }

        foreach (var entry in logs.Messages)
        {
            seen.AppendLine(entry);
        }

        Assert.True(logs.Messages.Count > 0);
        Assert.True(seen.Length > 1000);
        Assert.DoesNotContain(Planted, seen.ToString(), StringComparison.Ordinal);

        // Handed to the runtime when the instance is created.
        Assert.Contains(Planted, runtime.SecretsSeen);

        // Encrypted at rest.
        var disk = string.Concat(Directory.EnumerateFiles(_directory, "*", SearchOption.AllDirectories).Select(File.ReadAllText));
        Assert.Contains(Bpi.Orchestration.Security.Secrets.SecretProtector.Prefix, disk, StringComparison.Ordinal);
        Assert.DoesNotContain(Planted, disk, StringComparison.Ordinal);

        // A new orchestrator over the same store and key reads it back.
        await using (var again = Host(new CapturingLoggerProvider(), new RecordingRuntime()))
        {
            var record = await again.Get<IDeploymentStore>().GetAsync(deploymentId);
            Assert.Equal(Planted, record!.CurrentSpec.Components[0].Secrets["DB_PASSWORD"]);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private SecurityTestHost Host(CapturingLoggerProvider logs, RecordingRuntime runtime) => new(
        o => o.Environments["staging"] = TestSpecs.Policy(p => p.BlockingSeverity = SecuritySeverity.High),
        extra: b =>
        {
            b.Services.AddLogging(l => l.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
            b.UseDeploymentStore(new FileDeploymentStore(_directory));
            b.AddSecretProtection(o => o.Keys["k1"] = _key);
            b.Services.Replace(ServiceDescriptor.Singleton<IWorkloadRuntime>(sp => runtime.Wrap(sp.GetRequiredService<InMemoryWorkloadRuntime>())));
        });

    private static async Task Collect<T>(IAsyncEnumerable<T> stream, StringBuilder into)
    {
        try
        {
            await foreach (var item in stream)
            {
                lock (into)
                {
                    into.AppendLine(JsonSerializer.Serialize(item));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private sealed class RecordingRuntime : IWorkloadRuntime
    {
        private InMemoryWorkloadRuntime? _inner;

        public List<string> SecretsSeen { get; } = [];

        public string Name => "recording";

        public IWorkloadRuntime Wrap(InMemoryWorkloadRuntime inner)
        {
            _inner = inner;
            return this;
        }

        public ValueTask EnsureReplicasAsync(WorkloadRevision revision, int replicas, CancellationToken cancellationToken = default)
        {
            lock (SecretsSeen)
            {
                SecretsSeen.AddRange(revision.Component.Secrets.Values);
            }

            return _inner!.EnsureReplicasAsync(revision, replicas, cancellationToken);
        }

        public ValueTask<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(string deploymentId, string? componentId = null, int? revision = null, CancellationToken cancellationToken = default)
            => _inner!.GetInstancesAsync(deploymentId, componentId, revision, cancellationToken);

        public ValueTask RemoveDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default) => _inner!.RemoveDeploymentAsync(deploymentId, cancellationToken);

        public ValueTask<IReadOnlyList<WorkloadInstance>> ListOwnedAsync(CancellationToken cancellationToken = default) => _inner!.ListOwnedAsync(cancellationToken);

        public ValueTask<IReadOnlyList<string>> GetLogTailAsync(string instanceId, int lines, CancellationToken cancellationToken = default) => _inner!.GetLogTailAsync(instanceId, lines, cancellationToken);
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public List<string> Messages { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var text = $"{category} {logLevel} {eventId} {formatter(state, exception)} {exception} "
                    + (state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => p.Key + "=" + p.Value)) : "");
                lock (owner.Messages)
                {
                    owner.Messages.Add(text);
                }
            }
        }
    }
}
