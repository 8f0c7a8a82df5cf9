using System.Text.Json;
using Bpi.Orchestration.Audit;
using Bpi.Orchestration.Cli.Output;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Processes;
using Bpi.Orchestration.Security.Assessment;
using Bpi.Orchestration.Security.Compliance;
using Bpi.Orchestration.Security.Gate;
using Bpi.Orchestration.Security.Monitoring;
using Bpi.Orchestration.Security.Remediation;
using Bpi.Orchestration.Routing;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Cli.Hosting;

/// <summary>
/// An orchestrator over a state directory, owned by this process while a command runs: the VM with the durable
/// deployment store, the local-process runtime, the in-process router, every strategy, and the durable audit store
/// signed with the state directory's key, component secrets sealed in the records with the state directory's secrets key
/// (<see cref="StateDirectory.LoadOrCreateSecretsKey"/>), and the Security package (every deploy and update passes the security gate;
/// every operation is authorized by the policy of <see cref="CliSecurity"/>). Opening it starts the VM, which adopts
/// the processes earlier commands left running and resumes any rollout an earlier command left unfinished (its cursor
/// is stored at every step).
/// </summary>
internal sealed class OrchestratorHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly CheckpointSigner _signer;
    private readonly StateLock _lock;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _livePublisher;
    private readonly CliDeploymentStore _store;
    private readonly IDeploymentStore _records;

    private OrchestratorHost(StateDirectory state, ServiceProvider provider, CheckpointSigner signer, StateLock stateLock, CliDeploymentStore store)
    {
        _store = store;
        _records = provider.GetRequiredService<IDeploymentStore>();
        State = state;
        _provider = provider;
        _signer = signer;
        _lock = stateLock;
        Vm = provider.GetRequiredService<IOrchestrationVm>();
        Router = provider.GetRequiredService<InProcessTrafficRouter>();
        Runtime = provider.GetRequiredService<ProcessWorkloadRuntime>();
        WorkloadRuntime = provider.GetRequiredService<IWorkloadRuntime>();
        AuditStore = provider.GetRequiredService<FileAuditStore>();
        Gate = provider.GetRequiredService<SecurityGate>();
        Assessor = provider.GetRequiredService<SecurityAssessor>();
        Monitor = provider.GetRequiredService<ISecurityMonitor>();
        Compliance = provider.GetRequiredService<ComplianceCatalog>();
        Remediator = provider.GetRequiredService<SecurityRemediator>();
        AuditSink = provider.GetService<IAuditSink>();
        _livePublisher = PublishLiveStatusAsync(_stop.Token);
    }

    public StateDirectory State { get; }

    /// <summary>The orchestrator's services (tests reach its circuit breakers through them).</summary>
    public IServiceProvider Services => _provider;

    public IOrchestrationVm Vm { get; }

    public InProcessTrafficRouter Router { get; }

    public ProcessWorkloadRuntime Runtime { get; }

    /// <summary>The runtime the orchestrator runs instances on: <see cref="Runtime"/>, unless <c>OpenAsync</c> was given another.</summary>
    public IWorkloadRuntime WorkloadRuntime { get; }

    public FileAuditStore AuditStore { get; }

    public SecurityGate Gate { get; }

    public SecurityAssessor Assessor { get; }

    public ISecurityMonitor Monitor { get; }

    public ComplianceCatalog Compliance { get; }

    public SecurityRemediator Remediator { get; }

    public IAuditSink? AuditSink { get; }

    /// <summary>The deployment record files that could not be read when the orchestrator started (file name → why); they were skipped.</summary>
    public IReadOnlyDictionary<string, string> UnreadableRecords { get; private init; } = new Dictionary<string, string>();

    /// <summary>Builds and starts the orchestrator. Takes ownership of <paramref name="stateLock"/>.</summary>
    public static Task<OrchestratorHost> OpenAsync(StateDirectory state, StateLock stateLock, CliSecurity security, TimeProvider time, CancellationToken cancellationToken)
        => OpenAsync(state, stateLock, security, time, StateDirectory.VmId, runtime: null, cancellationToken);

    /// <summary>
    /// Builds and starts the orchestrator with the id <paramref name="vmId"/> (the owner label of its instances) and,
    /// when <paramref name="runtime"/> is given, another runtime than local processes (the <c>demo</c> on Docker).
    /// Takes ownership of <paramref name="stateLock"/>.
    /// </summary>
    public static async Task<OrchestratorHost> OpenAsync(StateDirectory state, StateLock stateLock, CliSecurity security, TimeProvider time, string vmId, Action<IOrchestrationBuilder>? runtime, CancellationToken cancellationToken)
    {
        CheckpointSigner? signer = null;
        ServiceProvider? provider = null;
        try
        {
            signer = state.LoadOrCreateSigner();
            var (keyId, key) = state.LoadOrCreateSecretsKey(security.SecretsKeyFile);
            var services = new ServiceCollection();
            var checkpointSigner = signer;
            var store = new CliDeploymentStore(state.Deployments);
            // A record that cannot be read is skipped (the other deployments stay usable), but then its instances look
            // like orphans: while any record is unreadable, nothing is removed as an orphan.
            _ = await store.ListAsync(cancellationToken).ConfigureAwait(false);
            var unreadable = store.Unreadable;
            var builder = services.AddOrchestration(o =>
                {
                    o.VmId = vmId;
                    o.RemoveOrphansOnStart = unreadable.Count == 0;
                    o.SelfHealing = true; // `start` keeps every deployment at its desired state while it runs
                })
                .UseTimeProvider(time)
                .UseDeploymentStore(store)
                .AddSecretProtection(o => o.Keys[keyId] = key) // secrets sealed in deployments/, opened only in memory
                .AddProcessRuntime(o =>
                {
                    o.StateDirectory = state.Processes;
                    o.GracePeriod = TimeSpan.FromSeconds(5);
                })
                .AddInProcessRouter()
                .AddStrategies()
                .AddFileAuditStore(state.Audit, o => state.ConfigureAudit(o, checkpointSigner));
            if (runtime is null)
            {
                // Deployments of type EncCluster (`type: enc_cluster`) select this manager: it decorates the process runtime,
                // putting every member behind its mutual-TLS proxy. On another runtime the type is refused with what to add.
                builder.AddEncCluster();
            }

            runtime?.Invoke(builder);
            security.AddTo(builder);
            provider = services.BuildServiceProvider();
            var host = new OrchestratorHost(state, provider, signer, stateLock, store) { UnreadableRecords = unreadable };
            await host.Vm.StartAsync(cancellationToken).ConfigureAwait(false);
            await host.PublishAllAsync(cancellationToken).ConfigureAwait(false);
            foreach (var id in state.PausedDeployments())
            {
                try
                {
                    // The rollout an earlier `pause` stopped was just resumed from its cursor: hold it again.
                    await host.Vm.PauseAsync(id, cancellationToken).ConfigureAwait(false);
                }
                catch (OrchestrationException ex) when (ex.Kind is OrchestrationErrorKind.Conflict or OrchestrationErrorKind.NotFound)
                {
                    state.MarkPaused(id, paused: false);
                }
            }

            return host;
        }
        catch
        {
            if (provider is not null)
            {
                await provider.DisposeAsync().ConfigureAwait(false);
            }

            signer?.Dispose();
            stateLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Stops the orchestrator (a rollout still running keeps its stored cursor and is resumed by the next command or
    /// <c>start</c>), signs a final audit checkpoint, and releases the state directory. Workload processes keep running.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _livePublisher.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await Vm.StopAsync().ConfigureAwait(false);
        await _store.CloseAsync().ConfigureAwait(false);
        await _provider.DisposeAsync().ConfigureAwait(false);
        _signer.Dispose();
        _stop.Dispose();
        try
        {
            if (Directory.Exists(State.Live))
            {
                Directory.Delete(State.Live, recursive: true);
            }
        }
        catch (IOException)
        {
            // Stale live files are ignored by readers once the lock is free.
        }

        _lock.Dispose();
    }

    /// <summary>
    /// Writes the latest status of every deployment that changes to <c>live/&lt;id&gt;.json</c>, so that
    /// <c>status</c> and <c>list-deployments</c> in another process show traffic weights and ready replicas while this one
    /// holds the state directory.
    /// </summary>
    private async Task PublishLiveStatusAsync(CancellationToken cancellationToken)
    {
        await foreach (var e in Vm.WatchAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (e.Kind == DeploymentEventKind.CircuitBreakerChanged)
            {
                await PublishHealthAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (e.DeploymentId.Length > 0)
            {
                await PublishAsync(e.DeploymentId, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The view of a deployment as this orchestrator sees it. Weights the VM did not set itself (routes that
    /// <c>start</c> restored) are read from the router.
    /// </summary>
    public async Task<DeploymentView> ViewAsync(string deploymentId, string source, CancellationToken cancellationToken)
    {
        var view = DeploymentView.From(await Vm.GetStatusAsync(deploymentId, cancellationToken).ConfigureAwait(false), source);
        return view with
        {
            Components = [.. view.Components.Select(c =>
            {
                if (c.Revisions.Any(r => r.Weight is not null) || Router.GetStats(TrafficRoute.ForComponent(deploymentId, c.Id)) is not { } stats)
                {
                    return c;
                }

                var weights = stats.Backends.Where(b => b.InRoute).GroupBy(b => b.Revision).ToDictionary(g => g.Key, g => (int)Math.Round(g.Sum(b => b.Weight)));
                return c with { Revisions = [.. c.Revisions.Select(r => r with { Weight = weights.GetValueOrDefault(r.Revision) })] };
            })],
        };
    }

    /// <summary>The current spec of a deployment, read as the acting user (the <c>read</c> verb is authorized; an unknown id is NotFound).</summary>
    public async Task<DeploymentSpec> CurrentSpecAsync(string deploymentId, CancellationToken cancellationToken)
    {
        _ = await Vm.GetStatusAsync(deploymentId, cancellationToken).ConfigureAwait(false);
        return (await _records.GetAsync(deploymentId, cancellationToken).ConfigureAwait(false))?.CurrentSpec
            ?? throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"No deployment has the id '{deploymentId}'.");
    }

    /// <summary>The file <see cref="PublishHealthAsync"/> writes (a dot name: never a deployment id's).</summary>
    public static string HealthFile(StateDirectory state) => Path.Combine(state.Live, ".health.json");

    /// <summary>Writes the runtime's reachability and every circuit breaker to <see cref="HealthFile"/>, for <c>health</c> in another process.</summary>
    public async Task PublishHealthAsync(CancellationToken cancellationToken)
    {
        try
        {
            // The breakers themselves, not GetStateAsync: no runtime call (it would count against the breaker) and no read
            // authorization (health is the host's, not a deployment's).
            var breakers = _provider.GetRequiredService<Bpi.Orchestration.Resilience.CircuitBreakers>().GetStatus();
            var view = HealthView.From(WorkloadRuntime.Name, breakers, _provider.GetRequiredService<TimeProvider>().GetUtcNow());
            await WriteLiveAsync(HealthFile(State), JsonSerializer.SerializeToUtf8Bytes(view, CliJson.Context.HealthView), cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // As the live status: a convenience; `health` says when nothing is published.
        }
    }

    /// <summary>Publishes every live deployment once (at start, and after <c>start</c> restored routes).</summary>
    public async Task PublishAllAsync(CancellationToken cancellationToken)
    {
        await PublishHealthAsync(cancellationToken).ConfigureAwait(false);
        DeploymentList list;
        try
        {
            list = await Vm.ListAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (OrchestrationException ex) when (ex.Kind == OrchestrationErrorKind.Unauthorized)
        {
            // The policy does not let this user read: nothing to publish; the command's own operation is judged on its own.
            return;
        }

        foreach (var d in list.Deployments)
        {
            await PublishAsync(d.Id, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task PublishAsync(string deploymentId, CancellationToken cancellationToken)
    {
        try
        {
            var view = await ViewAsync(deploymentId, DeploymentView.Sources.Live, cancellationToken).ConfigureAwait(false);
            await WriteLiveAsync(Path.Combine(State.Live, deploymentId + ".json"), JsonSerializer.SerializeToUtf8Bytes(view, CliJson.Context.DeploymentView), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OrchestrationException or IOException)
        {
            // The live view is a convenience; the store stays the source of truth.
        }
    }

    /// <summary>Writes a live file whole (a reader never sees half of it).</summary>
    private async Task WriteLiveAsync(string path, byte[] bytes, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(State.Live);
        await File.WriteAllBytesAsync(path + ".tmp", bytes, cancellationToken).ConfigureAwait(false);
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
