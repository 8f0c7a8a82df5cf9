using Bpi.Orchestration.Cli.Hosting;
using Bpi.Orchestration.Resilience;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

/// <summary><c>health</c>: the runtime's reachability and each circuit breaker, exit 12 while one is open.</summary>
public sealed class HealthCommandTests : IDisposable
{
    private readonly CliSandbox _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Without_a_running_orchestrator_health_probes_the_runtime_and_exits_0()
    {
        var text = await _cli.RunAsync("health");
        var json = await _cli.RunAsync("health", "-o", "json");

        Assert.Equal(ExitCodes.Success, text.ExitCode);
        Assert.Contains("Orchestrator: not running", text.Output, StringComparison.Ordinal);
        Assert.Contains("Runtime process: reachable", text.Output, StringComparison.Ordinal);
        Assert.Contains("Circuit breakers: none", text.Output, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Success, json.ExitCode);
        Assert.Equal("probe", json.Json.GetProperty("source").GetString());
        Assert.True(json.Json.GetProperty("runtimeReachable").GetBoolean());
        Assert.Equal(0, json.Json.GetProperty("circuitBreakers").GetArrayLength());
    }

    [Fact]
    public async Task While_the_running_orchestrator_has_an_open_breaker_health_shows_it_and_exits_12()
    {
        var state = new StateDirectory(_cli.StateDir);
        var env = new CliEnvironment(TextWriter.Null, TextWriter.Null, interactive: false, _ => null);
        var stateLock = await state.TryLockAsync("start", TimeSpan.Zero, TimeProvider.System, CancellationToken.None);
        await using (var host = await OrchestratorHost.OpenAsync(
            state,
            stateLock!,
            CliSecurity.Resolve(null, env, state),
            TimeProvider.System,
            StateDirectory.VmId,
            b => b.Services.Configure<OrchestrationOptions>(o => o.CircuitBreaking.MinimumThroughput = 2),
            CancellationToken.None))
        {
            var breakers = host.Services.GetRequiredService<CircuitBreakers>();
            var healthy = await _cli.RunAsync("health");
            Assert.True(healthy.ExitCode == ExitCodes.Success, healthy.ToString());
            Assert.Contains("Orchestrator: running", healthy.Output, StringComparison.Ordinal);

            // The engine fails as a guarded runtime call sees it: the breaker of runtime:process counts it and opens.
            var down = new OrchestrationException(OrchestrationErrorKind.RuntimeUnavailable, "the engine does not answer");
            for (var i = 0; i < 10 && breakers.GetStatus().FirstOrDefault(b => b.Target == "runtime:process")?.State != CircuitBreakerState.Open; i++)
            {
                await Assert.ThrowsAsync<OrchestrationException>(async () => await breakers.ExecuteAsync("runtime:process", static (e, _) => ValueTask.FromException<int>(e), down));
            }

            var open = await Eventually.UntilAsync(() => _cli.RunAsync("health"), r => r.ExitCode == ExitCodes.CircuitOpen, "health reports the open breaker the orchestrator published");
            var json = await _cli.RunAsync("health", "-o", "json");

            Assert.Contains("Runtime process: unreachable: its circuit breaker is open: the engine does not answer", open.Output, StringComparison.Ordinal);
            Assert.Matches(@"runtime:process  open since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(opened 1x, last fault transient: the engine does not answer\)", open.Output);
            Assert.Equal(ExitCodes.CircuitOpen, json.ExitCode);
            Assert.Equal("live", json.Json.GetProperty("source").GetString());
            Assert.False(json.Json.GetProperty("runtimeReachable").GetBoolean());
            var breaker = json.Json.GetProperty("circuitBreakers").EnumerateArray().Single(b => b.GetProperty("target").GetString() == "runtime:process");
            Assert.Equal("open", breaker.GetProperty("state").GetString());
            Assert.Equal("transient", breaker.GetProperty("lastFaultClass").GetString());
            Assert.Equal(1, breaker.GetProperty("timesOpened").GetInt32());
        }
    }
}
