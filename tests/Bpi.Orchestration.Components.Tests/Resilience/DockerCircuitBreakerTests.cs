using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Tests.Infrastructure;
using Bpi.Orchestration.Resilience;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Bpi.Orchestration.Components.Tests.Resilience;

/// <summary>
/// The runtime's circuit breaker on the real Docker Engine, reached through a loopback proxy the test cuts and restores
/// (the shared dockerd is never stopped): the engine vanishes mid-run, the circuit opens, status says so, calls stop
/// reaching the engine; the engine comes back, the circuit closes and the reconciler repairs what broke meanwhile.
/// </summary>
[Collection(DockerEngineCollection.Name)]
public sealed class DockerCircuitBreakerTests(DockerEngineFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan BreakDuration = TimeSpan.FromSeconds(3);

    [SkippableFact]
    public async Task Docker_gone_mid_run_opens_the_runtime_circuit_without_a_retry_storm_and_the_reconciler_repairs_once_it_is_back()
    {
        await fixture.RequireEngineAsync();
        await using var proxy = new CuttableEngineProxy();
        using var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        services.AddOrchestration(o =>
            {
                o.VmId = fixture.NewOwnerId();
                o.SelfHealing = true;
                o.HealingResyncInterval = TimeSpan.FromSeconds(1);
                o.CircuitBreaking.MinimumThroughput = 4;
                o.CircuitBreaking.FailureRatio = 0.5;
                o.CircuitBreaking.SamplingDuration = TimeSpan.FromSeconds(10);
                o.CircuitBreaking.BreakDuration = BreakDuration;
            })
            .AddDocker(o =>
            {
                o.Host = proxy.Host;
                o.StopTimeout = TimeSpan.FromSeconds(2);
            });
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var runtime = provider.GetRequiredService<IDockerWorkloadRuntime>();
        await vm.StartAsync();
        string? id = null;
        try
        {
            id = await vm.DeployAsync(Spec());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(240));
            var deployed = await vm.WaitUntilSettledAsync(id, timeout.Token);
            Assert.True(deployed.State == DeploymentState.Running, $"{deployed.State}: {deployed.Message}");
            var before = await runtime.GetInstancesAsync(id, cancellationToken: timeout.Token);
            Assert.Equal(2, before.Count(i => i.State == InstanceState.Running));

            // The engine vanishes for the orchestrator; meanwhile one of its containers dies (killed behind its back).
            proxy.Cut();
            var victim = before[0];
            await fixture.Client.KillContainerAsync(victim.InstanceId, "SIGKILL", timeout.Token);

            var open = await Eventually.UntilAsync(
                () => vm.GetStatusAsync(id, timeout.Token),
                s => s.RuntimeErrorKind == OrchestrationErrorKind.RuntimeUnavailable && s.RuntimeError?.Contains("circuit breaker of runtime:docker is open", StringComparison.Ordinal) == true,
                "status reports the runtime's open circuit",
                TimeSpan.FromSeconds(60));
            var attemptsToOpen = proxy.DroppedWhileCut;
            var streamAttemptsToOpen = EventStreamAttempts(logs);
            Assert.Equal(CircuitBreakerState.Open, (await RuntimeBreakerAsync(vm)).State);

            // The outage lasts two more breaks while status reads (every 20 ms) and the 1 s resync keep asking: only the
            // trial call after each break may reach the engine.
            var reads = 0;
            await Eventually.UntilAsync(
                async () =>
                {
                    reads++;
                    await vm.GetStatusAsync(id, timeout.Token);
                    return await RuntimeBreakerAsync(vm);
                },
                b => b.TimesOpened >= 3,
                "two trial calls fail and open the circuit again",
                TimeSpan.FromSeconds(60));
            var attemptsWhileOpen = proxy.DroppedWhileCut - attemptsToOpen;
            var streamAttemptsWhileOpen = EventStreamAttempts(logs) - streamAttemptsToOpen;
            var streamWaits = logs.Messages.Count(m => m.Contains("waits", StringComparison.Ordinal) && m.Contains("for the circuit breaker of runtime:docker", StringComparison.Ordinal));
            output.WriteLine($"attempts to open: {attemptsToOpen}; status reads while open: {reads}; connection attempts while open (two trial calls, the events stream's reconnects): {attemptsWhileOpen}; events stream: {streamAttemptsWhileOpen} reconnect attempts reached the engine, {streamWaits} waited for the circuit");
            Assert.Contains("circuit breaker", open.ToString(), StringComparison.Ordinal);
            // Without the breaker every read would make a call of up to 4 attempts (the engine client's 3 retries): ~4 per read.
            // With it: two trial calls of at most 4 attempts each, plus the events stream's own reconnects.
            Assert.True(reads >= 50, $"only {reads} status reads while open");
            // With it: two trial calls of at most 4 attempts each; the events stream knocks only when a break ended (it may be the trial).
            Assert.True(attemptsWhileOpen <= 2 * 2 * (1 + 3), $"{attemptsWhileOpen} connection attempts reached the engine during two breaks and {reads} status reads");
            // The events stream respects the open circuit: it waited for the breaks instead of reconnecting on its own back-off
            // (250 ms doubling: about five attempts in two 3 s breaks), and knocked at most once per break.
            Assert.True(streamWaits >= 1, "the events stream never waited for the open circuit");
            Assert.True(streamAttemptsWhileOpen <= 3, $"the events stream made {streamAttemptsWhileOpen} reconnect attempts during two breaks");

            // The engine is back: after the break a trial call closes the circuit, and the reconciler replaces the dead container.
            proxy.Restore();
            var repaired = await Eventually.UntilAsync(
                () => vm.GetStatusAsync(id, timeout.Token),
                s => s.RuntimeError is null && s.Components[0].Instances.Sum(r => r.Running) == 2,
                "the circuit closes and the reconciler runs two containers again",
                TimeSpan.FromSeconds(120));
            var after = await runtime.GetInstancesAsync(id, cancellationToken: timeout.Token);

            Assert.Null(repaired.RuntimeErrorKind);
            Assert.Equal(CircuitBreakerState.Closed, (await RuntimeBreakerAsync(vm)).State);
            Assert.Equal(2, after.Count(i => i.State == InstanceState.Running));
            Assert.DoesNotContain(after, i => i.InstanceId == victim.InstanceId && i.State == InstanceState.Running);
        }
        finally
        {
            proxy.Restore();
            await vm.StopAsync();
            if (id is not null)
            {
                // Only what this test created, whatever happened above.
                await runtime.RemoveDeploymentAsync(id);
            }
        }
    }

    /// <summary>Reconnect attempts of the events stream that reached the engine and failed (log 3109).</summary>
    private static int EventStreamAttempts(CapturingLoggerProvider logs)
        => logs.Messages.Count(m => m.Contains("The Docker events stream at", StringComparison.Ordinal) && m.Contains("ended or failed", StringComparison.Ordinal));

    private static async Task<CircuitBreakerStatus> RuntimeBreakerAsync(IOrchestrationVm vm)
        => (await vm.GetStateAsync()).CircuitBreakers.Single(b => b.Target == "runtime:docker");

    private static DeploymentSpec Spec() => new()
    {
        Name = "breaker",
        AppId = "breaker",
        Environment = "test",
        Components = [DockerEngineFixture.HttpComponent() with { Replicas = 2 }],
        Validation = new ValidationSettings { ProgressDeadline = TimeSpan.FromSeconds(60), PollInterval = TimeSpan.FromMilliseconds(250) },
    };
}
