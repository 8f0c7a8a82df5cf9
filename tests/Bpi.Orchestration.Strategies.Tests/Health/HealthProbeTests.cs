using System.Net;
using System.Net.Sockets;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Strategies.Health;
using Bpi.Orchestration.Strategies.Telemetry;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Health;

public sealed class HealthProbeTests
{
    [Fact]
    public async Task The_HTTP_probe_passes_in_the_expected_status_range_and_sends_the_headers()
    {
        using var server = new LoopbackHttpServer(request => request.Headers["X-Probe"] == "yes" ? 204 : 401);
        using var http = new StrategiesHttp();
        var probe = new HttpHealthProbe(http);
        var check = new HealthCheckSpec { Path = "/healthz", Headers = new Dictionary<string, string> { ["X-Probe"] = "yes" } };

        var pass = await probe.ProbeAsync(Instance(server.Port), check);
        var wrongHeader = await probe.ProbeAsync(Instance(server.Port), check with { Headers = new Dictionary<string, string>() });
        var narrowRange = await probe.ProbeAsync(Instance(server.Port), check with { ExpectedStatusMin = 200, ExpectedStatusMax = 200 });

        Assert.True(pass.Healthy, pass.Message);
        Assert.Equal("/healthz", server.Paths[0]);
        Assert.False(wrongHeader.Healthy);
        Assert.Contains("answered 401, expected 200-399", wrongHeader.Message, StringComparison.Ordinal);
        Assert.False(narrowRange.Healthy);
    }

    [Fact]
    public async Task The_HTTP_probe_fails_when_nothing_listens()
    {
        using var http = new StrategiesHttp();
        var port = FreePort();

        var result = await new HttpHealthProbe(http).ProbeAsync(Instance(port), new HealthCheckSpec());

        Assert.False(result.Healthy);
        Assert.Contains("failed", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_TCP_probe_passes_when_the_port_accepts_and_fails_when_it_does_not()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var open = ((IPEndPoint)listener.LocalEndpoint).Port;
        var probe = new TcpHealthProbe();

        var pass = await probe.ProbeAsync(Instance(open), new HealthCheckSpec { Kind = HealthCheckKind.Tcp });
        var fail = await probe.ProbeAsync(Instance(FreePort()), new HealthCheckSpec { Kind = HealthCheckKind.Tcp });

        Assert.True(pass.Healthy);
        Assert.False(fail.Healthy);
        Assert.Contains("ConnectionRefused", fail.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_probe_targets_the_endpoint_of_the_checks_port()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var open = ((IPEndPoint)listener.LocalEndpoint).Port;
        var instance = Instance(FreePort()) with { Endpoints = [new ServiceEndpoint("127.0.0.1", FreePort(), "http"), new ServiceEndpoint("127.0.0.1", open, "admin")] };

        var result = await new TcpHealthProbe().ProbeAsync(instance, new HealthCheckSpec { Kind = HealthCheckKind.Tcp, Port = open });

        Assert.True(result.Healthy);
    }

    [Fact]
    public async Task The_exec_probe_uses_the_runtimes_command_runner_and_judges_by_exit_code()
    {
        var runtime = new CommandRuntime((_, command) => command[0] == "true" ? new CommandResult(0, "") : new CommandResult(3, "db not reachable\n"));
        var probe = new ExecHealthProbe(runtime);
        var instance = Instance(1);

        var pass = await probe.ProbeAsync(instance, new HealthCheckSpec { Kind = HealthCheckKind.Exec, Command = ["true"] });
        var fail = await probe.ProbeAsync(instance, new HealthCheckSpec { Kind = HealthCheckKind.Exec, Command = ["check-db", "--fast"] });

        Assert.True(pass.Healthy);
        Assert.Equal("'check-db --fast' exited with 3: db not reachable", fail.Message);
        Assert.Equal(["true"], runtime.Commands[0]);
    }

    [Fact]
    public async Task The_exec_probe_fails_clearly_when_the_runtime_cannot_run_commands()
    {
        using var inMemory = new Testing.InMemoryWorkloadRuntime();

        var result = await new ExecHealthProbe(inMemory).ProbeAsync(Instance(1), new HealthCheckSpec { Kind = HealthCheckKind.Exec, Command = ["true"] });

        Assert.False(result.Healthy);
        Assert.Contains("need a runtime that can run commands", result.Message, StringComparison.Ordinal);
        Assert.Contains("'in-memory' runtime cannot", result.Message, StringComparison.Ordinal);
    }

    internal static WorkloadInstance Instance(int port) => new()
    {
        InstanceId = "i-1",
        DeploymentId = "d",
        ComponentId = "web",
        Revision = 1,
        State = InstanceState.Running,
        Endpoints = [new ServiceEndpoint("127.0.0.1", port)],
    };

    internal static int FreePort() => LoopbackHttpServer.FreePort();

    private sealed class CommandRuntime(Func<WorkloadInstance, IReadOnlyList<string>, CommandResult> run) : IWorkloadRuntime, IWorkloadCommandRunner
    {
        public List<IReadOnlyList<string>> Commands { get; } = [];

        public string Name => "fake-exec";

        public ValueTask<CommandResult> ExecAsync(WorkloadInstance instance, IReadOnlyList<string> command, CancellationToken cancellationToken = default)
        {
            Commands.Add(command);
            return ValueTask.FromResult(run(instance, command));
        }

        public ValueTask EnsureReplicasAsync(WorkloadRevision revision, int replicas, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(string deploymentId, string? componentId = null, int? revision = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask RemoveDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<IReadOnlyList<WorkloadInstance>> ListOwnedAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<IReadOnlyList<string>> GetLogTailAsync(string instanceId, int lines, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
