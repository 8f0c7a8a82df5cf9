using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Telemetry;
using Polly;
using Polly.Retry;

namespace Bpi.Orchestration;

/// <summary>Starting (load the store, restore reservations, remove orphans, resume what was interrupted) and stopping.</summary>
internal sealed partial class OrchestrationVm
{
    private readonly SemaphoreSlim _startLock = new(1, 1);
    private volatile VmStatus _status = VmStatus.Created;

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_status == VmStatus.Running)
        {
            return;
        }

        await _startLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            switch (_status)
            {
                case VmStatus.Running:
                    return;
                case VmStatus.Stopping or VmStatus.Stopped:
                    throw new OrchestrationException(OrchestrationErrorKind.NotRunning, "The orchestrator has been stopped and cannot be started again; create a new one (a new service provider).");
            }

            var runtime = _runner.RequireRuntime();
            var records = await _recorder.Store.ListAsync(cancellationToken).ConfigureAwait(false);
            var toResume = new List<DeploymentEntry>();
            foreach (var record in records.Where(r => r.State == DeploymentState.Destroyed).OrderBy(r => r.CompletedAt ?? r.UpdatedAt))
            {
                _registry.RememberDestroyed(record.Id);
            }

            foreach (var record in records)
            {
                var entry = NewEntry(record);
                _registry.Add(entry);
                if (record.State.IsLive())
                {
                    _telemetry.DeploymentsActive.Add(1);
                    TryRestoreReservation(record);
                    if (!record.State.IsSettled())
                    {
                        toResume.Add(entry);
                    }
                }
            }

            await _registry.ForgetOldDestroyedAsync().ConfigureAwait(false);
            if (Options.RemoveOrphansOnStart)
            {
                await RemoveOrphansAsync(runtime, cancellationToken).ConfigureAwait(false);
            }

            await _runner.Queue.StartAsync().ConfigureAwait(false);
            _status = VmStatus.Running;
            Log.Started(Logger, VmId, runtime.Name, records.Count);

            foreach (var entry in toResume.OrderBy(e => e.Record.CreatedAt))
            {
                await _runner.ResumeInterruptedAsync(entry).ConfigureAwait(false);
            }

            _healing.Start();
            _autoscaling.Start();

            // With shared state: from now on this instance takes deployments over (at their stored cursors) as it gains them.
            await _recorder.Ownership.StartAsync(this, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _startLock.Release();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _startLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_status is VmStatus.Stopped or VmStatus.Stopping)
            {
                return;
            }

            var wasRunning = _status == VmStatus.Running;
            _status = VmStatus.Stopping;
            await _autoscaling.StopAsync().ConfigureAwait(false);
            await _healing.StopAsync().ConfigureAwait(false);
            await _runner.StopAsync(wasRunning, cancellationToken).ConfigureAwait(false);
            if (wasRunning)
            {
                // Every run stopped where it stood: give the deployments up so other instances take them over at once.
                await _recorder.Ownership.StopAsync(cancellationToken).ConfigureAwait(false);
            }

            _status = VmStatus.Stopped;
            _recorder.Events.Complete();
            Log.Stopped(Logger, VmId);
        }
        finally
        {
            _startLock.Release();
        }
    }

    /// <summary>Stops and disposes synchronously, so a container disposed with <c>Dispose()</c> works too.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        CircuitBreakers.StateChanged -= OnCircuitBreakerChanged;
        _telemetry.Dispose();
        // Stopped above when the orchestrator ran; awaited again in every case, so no pass outlives the orchestrator.
        await _healing.DisposeAsync().ConfigureAwait(false);
        await _autoscaling.DisposeAsync().ConfigureAwait(false);
        _admission.Dispose();
        _runner.Dispose();
        foreach (var entry in _registry.Entries)
        {
            entry.Dispose();
        }
    }

    /// <summary>Starts on first use; answers synchronously once started (the common path: no state machine).</summary>
    private ValueTask EnsureStartedAsync(CancellationToken cancellationToken)
    {
        var status = _status;
        if (status == VmStatus.Running)
        {
            return ValueTask.CompletedTask;
        }

        if (status is VmStatus.Stopping or VmStatus.Stopped)
        {
            throw new OrchestrationException(OrchestrationErrorKind.NotRunning, "The orchestrator has been stopped; create a new one to accept work.");
        }

        return new ValueTask(StartAsync(cancellationToken));
    }

    private ResiliencePipeline BuildRuntimePipeline()
    {
        var builder = new ResiliencePipelineBuilder { Name = RuntimePipelineName, TimeProvider = Time };
        if (Options.RuntimeRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                Name = "transient-runtime-fault",
                MaxRetryAttempts = Options.RuntimeRetryAttempts,
                Delay = Options.RuntimeRetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder().Handle<OrchestrationException>(IsTransientRuntimeFault),
                OnRetry = args =>
                {
                    Log.RuntimeRetry(Logger, args.Outcome.Exception, args.AttemptNumber + 1);
                    return ValueTask.CompletedTask;
                },
            });
        }

        return builder.Build();
    }

    /// <summary>A failure worth retrying: transient, and not an open circuit (retrying into it only meets it again).</summary>
    private static bool IsTransientRuntimeFault(OrchestrationException exception) => exception is not Resilience.CircuitOpenException && exception.IsTransient;

    private void TryRestoreReservation(DeploymentRecord record)
    {
        try
        {
            Ledger.Reserve(record.Id, record.Allocation);
        }
        catch (OrchestrationException)
        {
            // The capacity shrank since the record was stored; keep serving what already runs and say so in the record.
            Ledger.Reserve(record.Id, ResourceRequirements.None);
        }
    }

    private async Task RemoveOrphansAsync(IWorkloadRuntime runtime, CancellationToken cancellationToken)
    {
        var owned = await runtime.ListOwnedAsync(cancellationToken).ConfigureAwait(false);
        var groups = owned
            .Where(i => i.OwnerId is null || string.Equals(i.OwnerId, VmId, StringComparison.Ordinal))
            .Where(i => !_registry.TryGet(i.DeploymentId, out var e) || !e.Record.State.IsLive())
            .GroupBy(i => i.DeploymentId, StringComparer.Ordinal);
        foreach (var group in groups)
        {
            var count = group.Count().ToString(CultureInfo.InvariantCulture);
            if (!_registry.TryGet(group.Key, out _))
            {
                // No record says this deployment was destroyed: its record may be missing or unreadable. Never stop
                // instances on a guess; say what was found and leave them.
                Log.UnknownDeploymentInstancesLeft(Logger, group.Count(), group.Key);
                await _recorder.AuditAsync(OrchestrationActor.System.Id, "runtime.orphans.unknown", group.Key, "left", new AuditData([new("instances", count)])).ConfigureAwait(false);
                continue;
            }

            Log.RemovingOrphans(Logger, group.Count(), group.Key);
            try
            {
                await runtime.RemoveDeploymentAsync(group.Key, cancellationToken).ConfigureAwait(false);
                await _recorder.AuditAsync(OrchestrationActor.System.Id, "runtime.orphans.removed", group.Key, "succeeded", new AuditData([new("instances", count)])).ConfigureAwait(false);
            }
            catch (OrchestrationException ex)
            {
                Log.OrphanRemovalFailed(Logger, ex, group.Key);
            }
        }
    }
}
