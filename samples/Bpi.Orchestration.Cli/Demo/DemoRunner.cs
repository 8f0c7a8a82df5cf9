using System.Globalization;
using Bpi.Orchestration.Audit;
using Bpi.Orchestration.Cli.Hosting;
using Bpi.Orchestration.Cli.Output;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace Bpi.Orchestration.Cli.Demo;

/// <summary>
/// The whole product in one command, on nothing but the .NET SDK: SampleService v1 (3 replicas) as local processes
/// (or Docker containers: <see cref="DemoRuntime"/> is all that differs) behind the in-process router; a canary to v2 that analysis passes and promotes; a canary to v3 (30% errors) that
/// analysis fails and rolls back while v2 keeps serving; real request counts per version through the router; the
/// audit trail verified; every instance removed. It checks each expectation and passes only when all hold.
/// </summary>
internal sealed class DemoRunner(CliEnvironment env, StateDirectory state, DemoRuntime runtime, bool json)
{
    private const string Component = "web";
    private readonly List<DemoCheckView> _checks = [];

    public async Task<DemoReportView> RunAsync(StateLock stateLock, CancellationToken cancellationToken)
    {
        var started = env.Time.GetTimestamp();
        TrafficGenerator? traffic = null;
        string? id = null;
        long auditEntries = 0;
        var host = await OrchestratorHost.OpenAsync(state, stateLock, CliSecurity.BuiltIn(env), env.Time, runtime.VmId, WithSelfHealing(runtime.Configure), cancellationToken).ConfigureAwait(false);
        try
        {
            // 1. v1
            Say("1/5", $"Deploying SampleService 1.0.0 as 3 {runtime.Instances} behind the in-process router");
            if (runtime.Image is { } image)
            {
                Say("", $"Image {image}; everything the demo creates carries the label {WorkloadLabels.Owner}={runtime.VmId}.");
            }

            var events = Watch(host);
            id = await host.Vm.DeployAsync(Spec("1.0.0", 0), cancellationToken).ConfigureAwait(false);
            var v1 = await FollowAsync(host, id, events, cancellationToken).ConfigureAwait(false);
            Check("v1 runs 3 ready replicas", v1.Status.State == DeploymentState.Running && Ready(v1.Status, 1) == 3, $"{v1.Status.State}, {Ready(v1.Status, 1)} ready of revision 1");
            if (await runtime.IsolationAsync(id, cancellationToken).ConfigureAwait(false) is { } isolation)
            {
                Check(isolation.Name, isolation.Passed, isolation.Detail);
            }

            var endpoint = host.Router.GetEndpoint(TrafficRoute.ForComponent(id, Component))
                ?? throw new CliException(ExitCodes.Failed, "the router has no endpoint for the demo service after v1 was deployed.");
            Say("", $"The service answers on http://{endpoint}/work; sending requests through the router from now on.");
            traffic = new TrafficGenerator(endpoint, "v1", env.Time);
            await traffic.WaitForAnswersAsync(30, cancellationToken).ConfigureAwait(false);
            var phase1 = traffic.CountsOf("v1");
            Check("every request is answered by v1", phase1.Keys.All(k => k == "1.0.0"), Describe(phase1));
            PrintTraffic("v1", phase1);

            // 2. canary v2
            Say("2/5", "Canary to 2.0.0 (healthy): 33% of traffic, analysis, 66%, analysis, then 100%");
            traffic.Phase = "canary 2.0.0";
            events = Watch(host);
            await host.Vm.UpdateAsync(id, Spec("2.0.0", 0), cancellationToken).ConfigureAwait(false);
            var v2 = await FollowAsync(host, id, events, cancellationToken).ConfigureAwait(false);
            var phase2 = traffic.CountsOf("canary 2.0.0");
            Check("the canary of v2 passes analysis and is promoted", v2.Status is { State: DeploymentState.Running, StableRevision: 2 } && Ready(v2.Status, 2) == 3 && Instances(v2.Status, 1) == 0, $"{v2.Status.State}, stable revision {v2.Status.StableRevision}, {Ready(v2.Status, 2)} ready of revision 2, {Instances(v2.Status, 1)} of revision 1 left");
            Check("during the canary both versions served real requests", phase2.GetValueOrDefault("1.0.0") > 0 && phase2.GetValueOrDefault("2.0.0") > 0, Describe(phase2));
            PrintTraffic("canary 2.0.0", phase2);
            await KillOneAndWatchItHealAsync(host, id, traffic, cancellationToken).ConfigureAwait(false);

            // 3. canary v3 with errors
            Say("3/5", "Canary to 3.0.0 with SAMPLE_ERROR_RATE=0.3: analysis must fail and roll it back");
            traffic.Phase = "canary 3.0.0";
            events = Watch(host);
            await host.Vm.UpdateAsync(id, Spec("3.0.0", 0.3), cancellationToken).ConfigureAwait(false);
            var v3 = await FollowAsync(host, id, events, cancellationToken).ConfigureAwait(false);
            Check("the canary of v3 fails analysis and is rolled back", v3.Status is { State: DeploymentState.RolledBack, StableRevision: 2 } && Instances(v3.Status, 3) == 0 && Ready(v3.Status, 2) == 3, $"{v3.Status.State}, stable revision {v3.Status.StableRevision}, {Instances(v3.Status, 3)} instance(s) of revision 3 left: {v3.Status.Message}");
            PrintTraffic("canary 3.0.0", traffic.CountsOf("canary 3.0.0"));

            traffic.Phase = "after rollback";
            await traffic.WaitForAnswersAsync(30, cancellationToken).ConfigureAwait(false);
            var after = traffic.CountsOf("after rollback");
            Check("after the rollback v2 serves every request without errors", after.Keys.All(k => k == "2.0.0"), Describe(after));
            PrintTraffic("after rollback", after);
            await traffic.DisposeAsync().ConfigureAwait(false);

            // 4. audit
            Say("4/5", "Verifying the audit trail (hash chain, Merkle root, signed checkpoints)");
            await host.AuditStore.CreateCheckpointAsync(cancellationToken).ConfigureAwait(false);
            var verification = await AuditVerifier.VerifyAsync(host.AuditStore, new CheckpointVerifier(state.ReadVerifierKeys(), StateDirectory.AuditOrigin), cancellationToken).ConfigureAwait(false);
            auditEntries = verification.EntriesVerified;
            Check("the audit trail verifies", verification.IsValid && verification.SignaturesChecked && verification.EntriesVerified > 0, verification.ToString());

            // 5. clean up
            Say("5/5", "Destroying the deployment");
            await host.Vm.DestroyAsync(id, cancellationToken: cancellationToken).ConfigureAwait(false);
            await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Destroyed, cancellationToken).ConfigureAwait(false);
            var left = await runtime.LeftoversAsync(host.WorkloadRuntime, cancellationToken).ConfigureAwait(false);
            Check(runtime.NothingLeftCheck, left.Count == 0, left.Count == 0 ? "every instance removed" : string.Join(", ", left));
        }
        finally
        {
            if (traffic is not null)
            {
                await traffic.DisposeAsync().ConfigureAwait(false);
            }

            // Whatever happened (failure, Ctrl+C): remove every instance the demo started.
            try
            {
                await runtime.RemoveEverythingAsync(host.WorkloadRuntime).ConfigureAwait(false);
            }
            finally
            {
                await host.DisposeAsync().ConfigureAwait(false);
                await runtime.SweepAfterStopAsync(state).ConfigureAwait(false);
            }
        }

        var seconds = env.Time.GetElapsedTime(started).TotalSeconds;
        return new DemoReportView
        {
            Passed = _checks.Count > 0 && _checks.All(c => c.Passed),
            Seconds = Math.Round(seconds, 1),
            Checks = _checks,
            Traffic = traffic?.All() ?? new Dictionary<string, IReadOnlyDictionary<string, int>>(),
            AuditEntries = auditEntries,
            Runtime = runtime.Name,
            Owner = runtime.VmId,
            Image = runtime.Image,
        };
    }

    /// <summary>The demo's orchestrator heals (its self-healing step needs it), whatever the host's default is.</summary>
    private static Action<IOrchestrationBuilder> WithSelfHealing(Action<IOrchestrationBuilder>? configure) => builder =>
    {
        configure?.Invoke(builder);
        builder.Services.Configure<OrchestrationOptions>(o => o.SelfHealing = true);
    };

    /// <summary>
    /// Self-healing with traffic: kills one v2 instance (SIGKILL, no goodbye) while the traffic generator keeps sending
    /// requests through the router, waits until a new instance replaces it and is ready, and checks that no request failed
    /// (the router sends a request the dying instance had accepted to another one; the healer takes the dead one out of
    /// the route before replacing it).
    /// </summary>
    private async Task KillOneAndWatchItHealAsync(OrchestratorHost host, string id, TrafficGenerator traffic, CancellationToken cancellationToken)
    {
        var before = await host.WorkloadRuntime.GetInstancesAsync(id, cancellationToken: cancellationToken).ConfigureAwait(false);
        var victim = before.FirstOrDefault(i => i.Revision == 2 && i.State == InstanceState.Running);
        traffic.Phase = "self-healing";
        if (victim is null || !await runtime.KillAsync(victim, cancellationToken).ConfigureAwait(false))
        {
            Say("", $"Self-healing: skipped (cannot kill an instance on {runtime.Name} here).");
            traffic.Phase = "canary 2.0.0";
            return;
        }

        var killed = env.Time.GetTimestamp();
        Say("", $"Self-healing: killed v2 instance {victim.InstanceId} (SIGKILL) while requests flow through the router");
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(TimeSpan.FromSeconds(60));
        IReadOnlyList<WorkloadInstance> now = before;
        try
        {
            while (!Healed(host, id, victim, now))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), env.Time, bound.Token).ConfigureAwait(false);
                now = await host.WorkloadRuntime.GetInstancesAsync(id, cancellationToken: bound.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Not replaced within the bound: the check below fails and says what runs.
        }

        var replaced = Healed(host, id, victim, now);
        var seconds = env.Time.GetElapsedTime(killed).TotalSeconds;

        // The replacement is in the route once the healer's last step ran: let requests flow through it, then count.
        var status = await host.Vm.GetStatusAsync(id, cancellationToken).ConfigureAwait(false);
        await traffic.WaitForAnswersAsync(CountOf(traffic.CountsOf("self-healing")) + 20, cancellationToken).ConfigureAwait(false);
        var counts = traffic.CountsOf("self-healing");
        var failed = counts.Where(c => c.Key == "failed" || c.Key.EndsWith("(error)", StringComparison.Ordinal)).Sum(c => c.Value);
        Check(
            "a killed v2 instance is replaced with 0 failed requests",
            replaced && failed == 0 && status.State == DeploymentState.Running,
            string.Create(CultureInfo.InvariantCulture, $"replaced with {failed} failed requests in {seconds:0.0} s; {Describe(counts)}; {status.State}"));
        Say("", string.Create(CultureInfo.InvariantCulture, $"replaced with {failed} failed requests ({CountOf(counts)} requests through the router while it healed)"));
        traffic.Phase = "canary 2.0.0";
    }

    /// <summary>Three v2 instances run, the killed one is gone, and the router's route holds exactly the running ones (the repair's last step ran).</summary>
    private static bool Healed(OrchestratorHost host, string id, WorkloadInstance victim, IReadOnlyList<WorkloadInstance> now)
    {
        var running = now.Where(i => i.Revision == 2 && i.State == InstanceState.Running && i.Health != InstanceHealth.Unhealthy).ToList();
        var routed = host.Router.GetStats(TrafficRoute.ForComponent(id, Component))?.Backends.Where(b => b.InRoute).Select(b => b.Endpoint).ToHashSet();
        return running.Count == 3
            && now.All(i => i.InstanceId != victim.InstanceId)
            && routed is not null
            && routed.SetEquals(running.Select(i => i.Endpoint!));
    }

    private static int CountOf(IReadOnlyDictionary<string, int> counts) => counts.Values.Sum();

    private DeploymentSpec Spec(string version, double errorRate) => new()
    {
        Name = "sample",
        AppId = "demo",
        Environment = "local",
        Components =
        [
            runtime.Workload(new ComponentSpec
            {
                Id = Component,
                Replicas = 3,
                Resources = new ComponentResources { CpuCores = 0.1, MemoryMb = 64 },
                Ports = [new PortSpec { ContainerPort = 8080 }],
                Environment = new Dictionary<string, string>
                {
                    ["SAMPLE_VERSION"] = version,
                    ["SAMPLE_ERROR_RATE"] = errorRate.ToString(CultureInfo.InvariantCulture),
                },
                HealthCheck = new HealthCheckSpec { Path = "/health", Period = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(1) },
            }),
        ],
        Strategy = new CanaryStrategySpec
        {
            Steps =
            [
                new CanaryStep.SetWeight(33),
                new CanaryStep.Pause(TimeSpan.FromSeconds(2)),
                new CanaryStep.Analyze(Analysis()),
                new CanaryStep.SetWeight(66),
                new CanaryStep.Pause(TimeSpan.FromSeconds(2)),
                new CanaryStep.Analyze(Analysis()),
            ],
        },
        Validation = new ValidationSettings { PollInterval = TimeSpan.FromMilliseconds(200), ProgressDeadline = TimeSpan.FromMinutes(2) },
    };

    private static AnalysisSpec Analysis() => new()
    {
        Name = "success-rate",
        Metrics =
        [
            new MetricSpec
            {
                Name = "success-rate",
                Query = new BuiltInMetricQuery(BuiltInMetric.SuccessRate) { Requests = 60, Path = "/work" },
                SuccessCondition = MetricCondition.AtLeast(0.95),
            },
        ],
    };

    private static IAsyncEnumerable<DeploymentEvent> Watch(OrchestratorHost host) => host.Vm.WatchAsync(cancellationToken: CancellationToken.None);

    private async Task<FollowOutcome> FollowAsync(OrchestratorHost host, string id, IAsyncEnumerable<DeploymentEvent> events, CancellationToken cancellationToken)
    {
        using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            return await RolloutWatcher.FollowAsync(env, host.Vm, id, events, TimeSpan.FromMinutes(3), json, done.Token).ConfigureAwait(false);
        }
        finally
        {
            await done.CancelAsync().ConfigureAwait(false);
        }
    }

    private static int Ready(DeploymentStatus status, int revision)
        => status.Components.SelectMany(c => c.Instances).Where(i => i.Revision == revision).Sum(i => i.Running);

    private static int Instances(DeploymentStatus status, int revision)
        => status.Components.SelectMany(c => c.Instances).Where(i => i.Revision == revision).Sum(i => i.Total);

    private void Check(string name, bool passed, string detail)
    {
        _checks.Add(new DemoCheckView(name, passed, detail));
        if (json)
        {
            env.Error.WriteLine($"{(passed ? "ok  " : "FAIL")} {name}: {detail}");
        }
        else if (env.Interactive)
        {
            env.Console.MarkupLine($"{(passed ? "[green]✔[/]" : "[red]✘[/]")} {Markup.Escape(name)} [grey]({Markup.Escape(detail)})[/]");
        }
        else
        {
            env.Output.WriteLine($"{(passed ? "ok  " : "FAIL")} {name} ({detail})");
            env.Output.Flush();
        }
    }

    private void Say(string step, string text)
    {
        var writer = json ? env.Error : env.Output;
        if (step.Length > 0 && env.Interactive && !json)
        {
            env.Console.Write(new Rule($"[bold]{Markup.Escape(step)}[/] {Markup.Escape(text)}").LeftJustified());
        }
        else
        {
            writer.WriteLine(step.Length > 0 ? $"==> {step} {text}" : "    " + text);
            writer.Flush();
        }
    }

    private void PrintTraffic(string phase, IReadOnlyDictionary<string, int> counts)
        => Say("", $"requests through the router ({phase}): {Describe(counts)}");

    private static string Describe(IReadOnlyDictionary<string, int> counts)
        => counts.Count == 0 ? "none" : string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key}: {c.Value}")));
}
