using System.Collections.Concurrent;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Docker.Engine;
using Bpi.Orchestration.Components.Tests.Infrastructure;
using Bpi.Orchestration.Runtime;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bpi.Orchestration.Components.Tests.Docker;

/// <summary>The Docker runtime's <see cref="IWorkloadEvents"/>: the engine's events stream as workload events.</summary>
[Collection(DockerEngineCollection.Name)]
public sealed class DockerWorkloadEventsTests(DockerEngineFixture fixture)
{
    [SkippableFact]
    public async Task SelfHealing_events_a_killed_container_is_reported_as_exited_with_its_exit_code_and_disposing_stops_the_watch()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime(o => o.StopTimeout = TimeSpan.FromSeconds(2));
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent());
        var events = new ConcurrentQueue<WorkloadEvent>();
        try
        {
            Assert.True(runtime.EventWatch.IsCompleted, "no watch runs before the first subscription");
            var subscription = runtime.Subscribe(events.Enqueue);
            Assert.False(runtime.EventWatch.IsCompleted, "the first subscription starts the watch");

            // Scaling 3 → 2 removes a container: its "destroy" proves the stream is open before the kill.
            await runtime.EnsureReplicasAsync(revision, 3);
            var three = await runtime.GetInstancesAsync(revision.DeploymentId);
            await runtime.EnsureReplicasAsync(revision, 2);
            var two = await runtime.GetInstancesAsync(revision.DeploymentId);
            var removed = Assert.Single(three, i => two.All(t => t.InstanceId != i.InstanceId));
            await Eventually.UntilAsync(
                () => events.Any(e => e.InstanceId == removed.InstanceId && e.Kind == WorkloadEventKind.Removed),
                "the scaled-down container is reported removed");

            var victim = two[0];
            await fixture.Client.KillContainerAsync(victim.InstanceId, "SIGKILL");
            var exited = await Eventually.UntilAsync(
                () => Task.FromResult(events.FirstOrDefault(e => e.InstanceId == victim.InstanceId && e.Kind == WorkloadEventKind.Exited)),
                e => e is not null,
                "the killed container is reported exited");
            Assert.Equal(revision.DeploymentId, exited!.DeploymentId);
            Assert.Equal(137, exited.ExitCode);
            Assert.DoesNotContain(events, e => e.InstanceId == two[1].InstanceId);

            // The last subscription out stops the watch, and Dispose returns once it has ended.
            var watch = runtime.EventWatch;
            subscription.Dispose();
            Assert.True(watch.IsCompleted, "disposing the last subscription stops the watch and waits for it");
            Assert.True(runtime.EventWatch.IsCompleted);
            var seen = events.Count;
            await fixture.Client.KillContainerAsync(two[1].InstanceId, "SIGKILL");
            await fixture.Client.WaitContainerAsync(two[1].InstanceId);
            Assert.Equal(seen, events.Count);
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
        }
    }

    [SkippableFact]
    public async Task SelfHealing_events_disposing_the_runtime_stops_the_watch()
    {
        await fixture.RequireEngineAsync();
        var runtime = fixture.CreateRuntime();
        using var subscription = runtime.Subscribe(_ => { });
        var watch = runtime.EventWatch;
        Assert.False(watch.IsCompleted);

        await runtime.DisposeAsync();

        Assert.True(watch.IsCompleted, "disposing the runtime cancels the watch and awaits it");
        Assert.Throws<ObjectDisposedException>(() => runtime.Subscribe(_ => { }));
    }

    [Fact]
    public async Task SelfHealing_events_a_lost_stream_is_reopened_with_back_off_and_reported_as_reconnected()
    {
        // A fake engine: the first /events fails (the engine is restarting), the second delivers one "die" and closes
        // (the engine went away again), later ones fail until the test ends.
        var calls = 0;
        const string Die = "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"c1\",\"Attributes\":{\"bpi.orchestration/deployment\":\"dep-1\",\"bpi.orchestration/instance\":\"i-1\",\"exitCode\":\"137\"}},\"time\":1,\"timeNano\":1}\n";
        await using var engine = FakeDockerEngine.StartTcp(FakeDockerEngine.Versioned(() => ("1.24", "1.45"), request =>
            request.PathWithoutQuery != "/events" ? FakeDockerEngine.Unhandled(request)
            : Interlocked.Increment(ref calls) == 2 ? FakeResponse.Json(200, Die)
            : FakeResponse.Error(500, "engine restarting")));
        var options = new DockerRuntimeOptions { Host = engine.Endpoint, RetryBaseDelay = TimeSpan.FromMilliseconds(1) };
        var client = new DockerEngine(DockerEngineOptions.From(options), TimeProvider.System, NullLogger.Instance);
        await using var runtime = new DockerWorkloadRuntime(client, options, TimeProvider.System, NullLogger.Instance, ownsClient: true);
        var events = new ConcurrentQueue<WorkloadEvent>();
        using var subscription = runtime.Subscribe(events.Enqueue);

        await Eventually.UntilAsync(() => events.Count(e => e.Kind == WorkloadEventKind.Reconnected) >= 2, "the watch reconnects after each loss");

        var seen = events.ToList();
        Assert.Equal(WorkloadEventKind.Reconnected, seen[0].Kind);
        Assert.Equal(new WorkloadEvent("dep-1", "i-1", WorkloadEventKind.Exited, 137), seen[1]);
        Assert.Equal(WorkloadEventKind.Reconnected, seen[2].Kind);
        var streams = engine.Requests.Where(r => r.PathWithoutQuery.EndsWith("/events", StringComparison.Ordinal)).Select(r => Uri.UnescapeDataString(r.Path)).ToList();
        Assert.All(streams, path => Assert.Contains("\"type\":{\"container\":true}", path, StringComparison.Ordinal));
        Assert.All(streams, path => Assert.Contains("\"bpi.orchestration/owner\":true", path, StringComparison.Ordinal));
        Assert.DoesNotContain("since=", streams[0], StringComparison.Ordinal);
        Assert.Contains("since=", streams[1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("die", WorkloadEventKind.Exited, 3)]
    [InlineData("oom", WorkloadEventKind.Exited, null)]
    [InlineData("health_status: unhealthy", WorkloadEventKind.HealthChanged, null)]
    [InlineData("health_status: healthy", WorkloadEventKind.HealthChanged, null)]
    [InlineData("destroy", WorkloadEventKind.Removed, null)]
    public void Docker_events_map_container_actions_to_workload_events(string action, WorkloadEventKind kind, int? exitCode)
    {
        var attributes = Attributes();
        if (action != "die")
        {
            attributes.Remove("exitCode");
        }

        var change = DockerWorkloadRuntime.Map(new Message { Type = "container", Action = action, Actor = new Actor { ID = "c0ffee", Attributes = attributes } });

        Assert.Equal(new WorkloadEvent("dep-1", "bpi-dep-1-web-r1-abc", kind, exitCode), change);
    }

    [Fact]
    public void Docker_events_ignore_other_actions_other_types_and_containers_without_a_deployment()
    {
        Assert.Null(DockerWorkloadRuntime.Map(new Message { Type = "container", Action = "start", Actor = new Actor { ID = "c", Attributes = Attributes() } }));
        Assert.Null(DockerWorkloadRuntime.Map(new Message { Type = "network", Action = "destroy", Actor = new Actor { ID = "n", Attributes = Attributes() } }));
        var foreign = Attributes();
        foreign.Remove(WorkloadLabels.Deployment);
        Assert.Null(DockerWorkloadRuntime.Map(new Message { Type = "container", Action = "die", Actor = new Actor { ID = "c", Attributes = foreign } }));
    }

    [Fact]
    public void Docker_events_fall_back_to_the_container_name_without_an_instance_label()
    {
        var attributes = Attributes();
        attributes.Remove(WorkloadLabels.Instance);

        var change = DockerWorkloadRuntime.Map(new Message { Type = "container", Action = "die", Actor = new Actor { ID = "c", Attributes = attributes } });

        Assert.Equal("bpi-dep-1-web-r1-abc", change!.InstanceId);
    }

    private static Dictionary<string, string> Attributes() => new(StringComparer.Ordinal)
    {
        [WorkloadLabels.Owner] = "vm-1",
        [WorkloadLabels.Deployment] = "dep-1",
        [WorkloadLabels.Instance] = "bpi-dep-1-web-r1-abc",
        ["name"] = "bpi-dep-1-web-r1-abc",
        ["exitCode"] = "3",
    };
}
