using System.Diagnostics;
using System.Net.Sockets;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Tests.Infrastructure;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Components.Tests.Healing;

/// <summary>
/// "The engine comes back" (#14): a Docker Engine restart stops every container; once the engine answers again the
/// runtime's event watch reports <see cref="WorkloadEventKind.Reconnected"/> and the healer brings the serving revision
/// back. The test restarts a <em>private</em> dockerd of its own (own socket, data root and address pool), never the
/// shared engine other tests use.
/// </summary>
[Collection(DockerEngineCollection.Name)]
public sealed class SelfHealingEngineRestartTests(DockerEngineFixture fixture)
{
    [SkippableFact]
    public async Task SelfHealing_after_the_docker_engine_restarts_the_serving_revision_runs_again()
    {
        // The shared engine's gate decides skip/fail (BPI_REQUIRE_DOCKER); the private engine needs dockerd and root.
        await fixture.RequireEngineAsync();
        DockerTestEnvironment.RequirePrerequisite(PrivateDockerd.MissingPrerequisite);
        await using var engine = new PrivateDockerd();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await engine.StartAsync(timeout.Token);

        var services = new ServiceCollection();
        services.AddOrchestration(o =>
            {
                o.VmId = fixture.NewOwnerId();
                o.SelfHealing = true;
                // Far beyond the test: only the runtime's Reconnected event can bring the deployment back.
                o.HealingResyncInterval = TimeSpan.FromMinutes(10);
            })
            .AddDocker(o =>
            {
                o.Host = engine.Host;
                o.StopTimeout = TimeSpan.FromSeconds(2);
            });
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var runtime = provider.GetRequiredService<IDockerWorkloadRuntime>();
        var importer = provider.GetRequiredService<IDockerImageImporter>();
        await TestImages.BuildAsync((tar, repository, tag, changes) => importer.ImportImageAsync(tar, repository, tag, changes, timeout.Token).AsTask());
        var events = new System.Collections.Concurrent.ConcurrentQueue<WorkloadEvent>();
        using var subscription = Assert.IsAssignableFrom<IWorkloadEvents>(runtime).Subscribe(events.Enqueue);

        await vm.StartAsync(timeout.Token);
        try
        {
            var id = await vm.DeployAsync(Spec(), cancellationToken: timeout.Token);
            var status = await vm.WaitUntilSettledAsync(id, timeout.Token);
            Assert.True(status.State == DeploymentState.Running, $"{status.State}: {status.Message}");
            var before = await runtime.GetInstancesAsync(id, cancellationToken: timeout.Token);
            Assert.Equal(2, before.Count(i => i.State == InstanceState.Running));

            // dockerd stops every container when it shuts down (no live-restore), then comes back empty-handed.
            await engine.RestartAsync(timeout.Token);

            await Eventually.UntilAsync(
                async () =>
                {
                    try
                    {
                        return await runtime.GetInstancesAsync(id, cancellationToken: timeout.Token);
                    }
                    catch (DockerEngineException)
                    {
                        return [];
                    }
                },
                list => list.Count(i => i.State == InstanceState.Running && i.Revision == 1) == 2,
                "two running instances of the serving revision after the engine restart",
                TimeSpan.FromSeconds(120));
            Assert.Contains(events, e => e.Kind == WorkloadEventKind.Reconnected);
            var healed = await Eventually.UntilAsync(() => vm.GetStatusAsync(id, timeout.Token), s => s.State == DeploymentState.Running && s.Healing == HealingState.Healthy, "the deployment reports Running and healthy again", TimeSpan.FromSeconds(60));
            Assert.Equal(1, healed.StableRevision);

            await vm.DestroyAsync(id, cancellationToken: timeout.Token);
            await vm.WaitForStateAsync(id, s => s == DeploymentState.Destroyed, timeout.Token);
            Assert.Empty((await runtime.GetInstancesAsync(id, cancellationToken: timeout.Token)));
        }
        finally
        {
            await vm.StopAsync();
        }
    }

    [SkippableFact]
    public async Task SelfHealing_after_the_engine_restarts_mid_rollout_and_the_rollback_fails_brings_the_serving_revision_back()
    {
        await fixture.RequireEngineAsync();
        DockerTestEnvironment.RequirePrerequisite(PrivateDockerd.MissingPrerequisite);
        await using var engine = new PrivateDockerd();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await engine.StartAsync(timeout.Token);
        await using var provider = Services(engine.Host);
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var runtime = provider.GetRequiredService<IDockerWorkloadRuntime>();
        var importer = provider.GetRequiredService<IDockerImageImporter>();
        await TestImages.BuildAsync((tar, repository, tag, changes) => importer.ImportImageAsync(tar, repository, tag, changes, timeout.Token).AsTask());

        await vm.StartAsync(timeout.Token);
        try
        {
            var id = await vm.DeployAsync(Spec(), cancellationToken: timeout.Token);
            var status = await vm.WaitUntilSettledAsync(id, timeout.Token);
            Assert.True(status.State == DeploymentState.Running, $"{status.State}: {status.Message}");

            // v2 never becomes ready (its check answers 404), so the rollout waits in its readiness step; the engine
            // stops under it: the step fails, and the rollback fails too while the engine is away.
            await vm.UpdateAsync(id, Spec() with
            {
                Components =
                [
                    DockerEngineFixture.HttpComponent(version: "v2") with
                    {
                        Replicas = 2,
                        HealthCheck = new HealthCheckSpec { Kind = HealthCheckKind.Http, Path = "/cgi-bin/nope", Period = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(1), FailureThreshold = 1000 },
                    },
                ],
            }, timeout.Token);
            await Eventually.UntilAsync(
                async () => await runtime.GetInstancesAsync(id, cancellationToken: timeout.Token),
                list => list.Any(i => i.Revision == 2 && i.State == InstanceState.Running),
                "a v2 container runs (the rollout waits for it to become ready)",
                TimeSpan.FromSeconds(60));
            await engine.StopAsync(timeout.Token);
            var failed = await vm.WaitForStateAsync(id, s => s == DeploymentState.Failed, timeout.Token);
            Assert.Contains("rollback failed too", failed.Message, StringComparison.Ordinal);

            // The engine is back: its events watch reports Reconnected, the healer brings revision 1 back.
            await engine.StartAsync(timeout.Token);
            await vm.WaitForStateAsync(id, s => s == DeploymentState.RolledBack, timeout.Token);
            await Eventually.UntilAsync(
                async () => await runtime.GetInstancesAsync(id, cancellationToken: timeout.Token),
                list => list.Count(i => i.Revision == 1 && i.State == InstanceState.Running) == 2 && list.All(i => i.Revision == 1),
                "two running instances of revision 1 and nothing of revision 2",
                TimeSpan.FromSeconds(120));
            Assert.Equal(1, (await vm.GetStatusAsync(id, timeout.Token)).StableRevision);

            await vm.DestroyAsync(id, cancellationToken: timeout.Token);
            await vm.WaitForStateAsync(id, s => s == DeploymentState.Destroyed, timeout.Token);
            Assert.Empty(await runtime.GetInstancesAsync(id, cancellationToken: timeout.Token));
        }
        finally
        {
            await vm.StopAsync();
        }
    }

    private ServiceProvider Services(string host)
    {
        var services = new ServiceCollection();
        services.AddOrchestration(o =>
            {
                o.VmId = fixture.NewOwnerId();
                o.SelfHealing = true;
                // Far beyond the test: only the runtime's Reconnected event can bring the deployment back.
                o.HealingResyncInterval = TimeSpan.FromMinutes(10);
            })
            .AddDocker(o =>
            {
                o.Host = host;
                o.StopTimeout = TimeSpan.FromSeconds(2);
            });
        return services.BuildServiceProvider();
    }

    private static DeploymentSpec Spec() => new()
    {
        Name = "engine-restart",
        AppId = "shop",
        Environment = "test",
        Components = [DockerEngineFixture.HttpComponent() with { Replicas = 2 }],
        Validation = new ValidationSettings { ProgressDeadline = TimeSpan.FromSeconds(60), PollInterval = TimeSpan.FromMilliseconds(250) },
    };

    /// <summary>A dockerd of the test's own: its socket, data and exec roots in a temp directory, its own address pool.</summary>
    private sealed class PrivateDockerd : IAsyncDisposable
    {
        private const string Dockerd = "/usr/sbin/dockerd";
        private readonly string _root = Path.Combine(Path.GetTempPath(), "bpi-dockerd-" + Guid.NewGuid().ToString("N")[..8]);
        private Process? _process;

        public static string? MissingPrerequisite =>
            !File.Exists(Dockerd) ? $"{Dockerd} is missing; install Debian's docker.io"
            : Environment.UserName != "root" ? "a private dockerd needs root"
            : null;

        private string Socket => Path.Combine(_root, "docker.sock");

        public string Host => "unix://" + Socket;

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            Directory.CreateDirectory(_root);
            var start = new ProcessStartInfo(Dockerd)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[]
            {
                "--host", Host, "--data-root", Path.Combine(_root, "data"), "--exec-root", Path.Combine(_root, "exec"),
                "--pidfile", Path.Combine(_root, "docker.pid"), "--bridge", "none", "--iptables=false", "--ip-masq=false",
                // Never the shared engine's subnets: two daemons' bridges on one subnet would misroute each other's traffic.
                "--default-address-pool", "base=10.213.0.0/16,size=24",
            })
            {
                start.ArgumentList.Add(argument);
            }

            _process = Process.Start(start)!;
            _process.OutputDataReceived += (_, _) => { };
            _process.ErrorDataReceived += (_, _) => { };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            await Eventually.UntilAsync(() => PingAsync(cancellationToken), ok => ok, "the private dockerd answers on its socket", TimeSpan.FromSeconds(60));
        }

        public async Task RestartAsync(CancellationToken cancellationToken)
        {
            await StopAsync(cancellationToken);
            await StartAsync(cancellationToken);
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            if (_process is null)
            {
                return;
            }

            // SIGTERM: dockerd stops its containers and exits (as `systemctl restart docker` does).
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync(cancellationToken);
            }

            await _process.WaitForExitAsync(cancellationToken);
            _process.Dispose();
            _process = null;
        }

        private async Task<bool> PingAsync(CancellationToken cancellationToken)
        {
            if (!File.Exists(Socket))
            {
                return false;
            }

            using var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var socket = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(Socket), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                },
            };
            using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(2) };
            try
            {
                return (await http.GetStringAsync("http://docker/_ping", cancellationToken)) == "OK";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or SocketException)
            {
                return false;
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await StopAsync(cleanup.Token);
            }
            finally
            {
                try
                {
                    Directory.Delete(_root, recursive: true);
                }
                catch (IOException)
                {
                    // A mount the daemon left behind: the temp directory is the machine's to clean.
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        }
    }
}
