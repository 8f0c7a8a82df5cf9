using Bpi.Orchestration.Resilience;
using Bpi.Orchestration.TestUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit;

namespace Bpi.Orchestration.Tests.Resilience;

/// <summary>The orchestrator's runtime behind its circuit breaker: an engine that keeps failing is reported, not hammered.</summary>
public sealed class RuntimeCircuitTests
{
    private static void Breaker(OrchestrationOptions o)
    {
        o.CircuitBreaking.MinimumThroughput = 4;
        o.CircuitBreaking.FailureRatio = 0.5;
        o.CircuitBreaking.SamplingDuration = TimeSpan.FromSeconds(30);
        o.CircuitBreaking.BreakDuration = TimeSpan.FromMinutes(10);
    }

    [Fact]
    public async Task A_failing_runtime_opens_its_circuit_status_says_RuntimeUnavailable_and_nothing_more_reaches_it_until_it_recovers()
    {
        await using var host = new TestHost(Breaker);
        var id = await host.Vm.DeployAsync(Specs.Web(2));
        await host.SettleAsync(id);
        var instance = (await host.Runtime.GetInstancesAsync(id))[0];
        // A window of failures only: the deployment's successful calls fall out of the sampling window first.
        host.Clock.Advance(TimeSpan.FromSeconds(31));
        host.Runtime.Faults.FailNextCalls(1_000_000);

        DeploymentStatus status = await host.Vm.GetStatusAsync(id);
        for (var read = 0; read < 10 && status.RuntimeError?.Contains("circuit breaker", StringComparison.Ordinal) != true; read++)
        {
            status = await host.Vm.GetStatusAsync(id);
        }

        var callsWhenOpen = host.Runtime.Calls;
        var reads = new List<DeploymentStatus>();
        for (var read = 0; read < 20; read++)
        {
            reads.Add(await host.Vm.GetStatusAsync(id));
        }

        Assert.Equal(OrchestrationErrorKind.RuntimeUnavailable, status.RuntimeErrorKind);
        Assert.Contains("circuit breaker of runtime:in-memory is open", status.RuntimeError, StringComparison.Ordinal);
        Assert.Equal(callsWhenOpen, host.Runtime.Calls);
        Assert.All(reads, r => Assert.Equal(OrchestrationErrorKind.RuntimeUnavailable, r.RuntimeErrorKind));
        var breakers = (await host.Vm.GetStateAsync()).CircuitBreakers;
        Assert.Equal(
            [("router:in-memory", CircuitBreakerState.Closed), ("runtime:in-memory", CircuitBreakerState.Open)],
            breakers.Select(b => (b.Target, b.State)));
        var breaker = breakers[1];
        Assert.Contains("simulated a transient engine failure", breaker.LastFailure, StringComparison.Ordinal);

        // The engine comes back (and lost an instance meanwhile): after the break the trial call closes the circuit and the reconciler repairs.
        host.Runtime.Faults.Clear();
        host.Runtime.Faults.Remove(instance.InstanceId);
        host.Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        var repaired = await host.DriveAsync(Eventually.UntilAsync(
            () => host.Vm.GetStatusAsync(id),
            s => s.RuntimeError is null && s.Components[0].Instances.Sum(i => i.Running) == 2,
            "the closed circuit lets the reconciler replace the lost instance"));

        Assert.Null(repaired.RuntimeErrorKind);
        breaker = (await host.Vm.GetStateAsync()).CircuitBreakers[1];
        Assert.Equal(CircuitBreakerState.Closed, breaker.State);
        Assert.Equal(1, breaker.TimesOpened);
    }

    [Fact]
    public async Task The_runtime_circuit_closing_wakes_self_healing_at_once_instead_of_at_the_next_resync()
    {
        // The resync is an hour away: only the circuit closing can wake the healer whose pass the open circuit refused.
        // No retries: a pass that meets an injected fault fails at once instead of waiting for a retry delay on the clock.
        var logs = new CapturingLoggerProvider();
        await using var host = new TestHost(
            o =>
            {
                Breaker(o);
                o.HealingResyncInterval = TimeSpan.FromHours(1);
                o.RuntimeRetryAttempts = 0;
            },
            extra: b => b.Services.AddLogging(l => l.AddProvider(logs)));
        var id = await host.Vm.DeployAsync(Specs.Web(2));
        await host.SettleAsync(id);
        var instance = (await host.Runtime.GetInstancesAsync(id))[0];
        host.Clock.Advance(TimeSpan.FromSeconds(31));
        host.Runtime.Faults.FailNextCalls(1_000_000);
        for (var read = 0; read < 10 && RuntimeCircuit(await host.Vm.GetStateAsync()) != CircuitBreakerState.Open; read++)
        {
            await host.Vm.GetStatusAsync(id);
        }

        Assert.Equal(CircuitBreakerState.Open, RuntimeCircuit(await host.Vm.GetStateAsync()));

        // The engine loses an instance: the healer wakes and its pass is refused by the open circuit.
        host.Runtime.Faults.Clear();
        host.Runtime.Faults.Remove(instance.InstanceId);
        await Eventually.UntilAsync(
            () => logs.Messages.Any(m => m.Contains(" 1018 ", StringComparison.Ordinal) && m.Contains(id, StringComparison.Ordinal)),
            "the healing pass the open circuit refused");

        // After the break one status read is the trial call that closes the circuit.
        host.Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        await host.Vm.GetStatusAsync(id);
        Assert.Equal(CircuitBreakerState.Closed, RuntimeCircuit(await host.Vm.GetStateAsync()));

        var repaired = await host.DriveAsync(Eventually.UntilAsync(
            () => host.Vm.GetStatusAsync(id),
            s => s.Components[0].Instances.Sum(i => i.Running) == 2,
            "self-healing to replace the lost instance once the circuit closed"));

        Assert.Null(repaired.RuntimeErrorKind);
    }

    private static CircuitBreakerState RuntimeCircuit(VmState state) => state.CircuitBreakers.Single(b => b.Target == "runtime:in-memory").State;

    [Fact]
    public async Task A_rollout_meeting_an_open_circuit_fails_fast_instead_of_retrying_into_it()
    {
        await using var host = new TestHost(Breaker);
        var id = await host.Vm.DeployAsync(Specs.Web(2));
        await host.SettleAsync(id);
        host.Clock.Advance(TimeSpan.FromSeconds(31));
        host.Runtime.Faults.FailNextCalls(1_000_000);
        for (var read = 0; read < 10; read++)
        {
            await host.Vm.GetStatusAsync(id);
        }

        Assert.Equal(CircuitBreakerState.Open, (await host.Vm.GetStateAsync()).CircuitBreakers.Single(b => b.Target == "runtime:in-memory").State);
        var calls = host.Runtime.Calls;
        var before = host.Clock.GetUtcNow();

        await host.Vm.ScaleAsync(id, 4);
        // Nobody advances the clock: a step that waited out retry delays would never finish.
        var settled = await host.Vm.WaitUntilSettledAsync(id, TestHost.Timeout());

        Assert.Equal(calls, host.Runtime.Calls);
        Assert.Equal(before, host.Clock.GetUtcNow());
        Assert.Contains("circuit breaker", settled.Message ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public void The_guarded_runtime_removes_single_instances_and_sends_events_exactly_when_the_runtime_does()
    {
        using var inMemory = new Bpi.Orchestration.Testing.InMemoryWorkloadRuntime(timeProvider: new Bpi.Orchestration.Testing.ManualTimeProvider());
        var breakers = new CircuitBreakers(new CircuitBreakingOptions(), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        var removing = GuardedWorkloadRuntime.Guard(inMemory, breakers)!;
        var plain = GuardedWorkloadRuntime.Guard(new Tests.Vm.GatedRuntime(inMemory), breakers)!;

        Assert.IsAssignableFrom<Runtime.IWorkloadInstanceRemover>(removing);
        Assert.Same(inMemory, RuntimeCapabilities.Events(removing));
        Assert.IsNotAssignableFrom<Runtime.IWorkloadInstanceRemover>(plain);
        Assert.Null(RuntimeCapabilities.Events(plain));
        Assert.Same(inMemory, GuardedWorkloadRuntime.Guard(inMemory, new CircuitBreakers(new CircuitBreakingOptions { Enabled = false }, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance)));
    }

    [Fact]
    public async Task Bad_circuit_breaking_options_are_listed_together()
    {
        var services = new ServiceCollection();
        services.AddOrchestration(o =>
        {
            o.CircuitBreaking.FailureRatio = 0;
            o.CircuitBreaking.MinimumThroughput = 1;
            o.CircuitBreaking.SamplingDuration = TimeSpan.FromMilliseconds(10);
            o.CircuitBreaking.BreakDuration = TimeSpan.Zero;
        });
        await using var provider = services.BuildServiceProvider();

        var problems = OptionsProblems.Of(Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOrchestrationVm>()), typeof(OrchestrationOptions));

        Assert.Equal(4, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("OrchestrationOptions.CircuitBreaking.FailureRatio: ", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("OrchestrationOptions.CircuitBreaking.MinimumThroughput: ", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("OrchestrationOptions.CircuitBreaking.SamplingDuration: ", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("OrchestrationOptions.CircuitBreaking.BreakDuration: ", StringComparison.Ordinal));
    }
}
