using System.Net.Sockets;
using Bpi.Orchestration.Processes;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.Options;
using Xunit;

namespace Bpi.Orchestration.Components.Tests.Processes;

public sealed class ProcessWorkloadRuntimeTests
{
    private const string RunForever = "exec sleep 300";

    [Fact]
    public async Task Ensures_the_requested_number_of_instances_each_with_its_own_directory_and_identity()
    {
        await using var scope = new RuntimeScope();
        var revision = scope.Shell("echo \"$BPI_INSTANCE_ID $BPI_REVISION\" > identity.txt; echo ready; " + RunForever);

        await scope.Runtime.EnsureReplicasAsync(revision, 3);
        await scope.Runtime.EnsureReplicasAsync(revision, 3); // idempotent

        var instances = await scope.WaitForAsync(i => i.Count == 3 && i.All(x => x.State == InstanceState.Running), "3 running instances");
        Assert.Equal(3, instances.Select(i => i.InstanceId).Distinct().Count());
        Assert.All(instances, i =>
        {
            Assert.Equal("vm-tests", i.OwnerId);
            Assert.Equal("app", i.ComponentId);
            Assert.Equal(1, i.Revision);
            Assert.NotNull(i.StartedAt);
        });

        foreach (var instance in instances)
        {
            var file = Path.Combine(scope.StateDirectory, "instances", instance.InstanceId, "identity.txt");
            await Eventually.UntilAsync(() => File.Exists(file) && File.ReadAllText(file).Length > 0, "the identity file of " + instance.InstanceId);
            Assert.Equal(instance.InstanceId + " 1", File.ReadAllText(file).Trim());
            await Eventually.UntilAsync(async () => await scope.Runtime.GetLogTailAsync(instance.InstanceId, 10), l => l.Contains("ready"), "the ready line");
        }

        var owned = await scope.Runtime.ListOwnedAsync();
        Assert.Equal(instances.Select(i => i.InstanceId).Order(), owned.Select(i => i.InstanceId).Order());
        Assert.Equal(3, ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id).Count);
    }

    [Fact]
    public async Task Scaling_down_removes_the_newest_instances_and_their_processes()
    {
        await using var scope = new RuntimeScope();
        var revision = scope.Shell(RunForever);
        await scope.Runtime.EnsureReplicasAsync(revision, 1);
        var first = (await scope.WaitForAsync(i => i.Count == 1 && i[0].State == InstanceState.Running, "the first instance")).Single();
        await scope.Runtime.EnsureReplicasAsync(revision, 3);
        await scope.WaitForAsync(i => i.Count == 3 && i.All(x => x.State == InstanceState.Running), "3 running instances");

        await scope.Runtime.EnsureReplicasAsync(revision, 1);

        var left = await scope.Runtime.GetInstancesAsync(scope.DeploymentId, "app", 1);
        Assert.Equal(first.InstanceId, Assert.Single(left).InstanceId);
        Assert.Single(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id));
        Assert.Single(ProcFs.WithEnvironment("BPI_INSTANCE_ID=" + first.InstanceId));

        await scope.Runtime.EnsureReplicasAsync(revision, 0);
        Assert.Empty(await scope.Runtime.GetInstancesAsync(scope.DeploymentId));
        Assert.Empty(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id));
    }

    [Fact]
    public async Task A_command_that_exits_at_once_is_reported_failed_with_its_exit_code_and_last_log_lines()
    {
        await using var scope = new RuntimeScope();
        await scope.Runtime.EnsureReplicasAsync(scope.Shell("echo loading config; echo 'config file missing' >&2; exit 3"), 1);

        var failed = (await scope.WaitForAsync(i => i.Count == 1 && i[0].IsTerminated, "the instance to end")).Single();

        Assert.Equal(InstanceState.Failed, failed.State);
        Assert.Equal(3, failed.ExitCode);
        Assert.Contains("exited with code 3", failed.Message, StringComparison.Ordinal);
        var lines = await scope.Runtime.GetLogTailAsync(failed.InstanceId, 20);
        Assert.Equal(["config file missing", "loading config"], lines.Order());
        Assert.Single(await scope.Runtime.GetLogTailAsync(failed.InstanceId, 1));

        // A failed instance is kept (and counted) until removed, so the failure stays visible.
        await scope.Runtime.EnsureReplicasAsync(scope.Shell("exit 3"), 1);
        Assert.Equal(failed.InstanceId, Assert.Single(await scope.Runtime.GetInstancesAsync(scope.DeploymentId)).InstanceId);
    }

    [Fact]
    public async Task A_command_that_exits_with_code_zero_is_reported_exited()
    {
        await using var scope = new RuntimeScope();
        await scope.Runtime.EnsureReplicasAsync(scope.Shell("echo done"), 1);

        var ended = (await scope.WaitForAsync(i => i.Count == 1 && i[0].IsTerminated, "the instance to end")).Single();

        Assert.Equal(InstanceState.Exited, ended.State);
        Assert.Equal(0, ended.ExitCode);
        Assert.Equal(["done"], await scope.Runtime.GetLogTailAsync(ended.InstanceId, 5));
    }

    [Fact]
    public async Task A_program_that_does_not_exist_fails_the_call_with_a_startup_error()
    {
        await using var scope = new RuntimeScope();
        var revision = scope.Revision(new CommandSpec { FileName = "/nonexistent/bpi-no-such-program" });

        var error = await Assert.ThrowsAsync<OrchestrationException>(() => scope.Runtime.EnsureReplicasAsync(revision, 1).AsTask());

        Assert.Equal(OrchestrationErrorKind.ContainerStartupFailed, error.Kind);
        Assert.Contains("Command.FileName", error.Message, StringComparison.Ordinal);
        Assert.Empty(await scope.Runtime.GetInstancesAsync(scope.DeploymentId));
    }

    [Fact]
    public async Task Stopping_sends_SIGTERM_first_so_the_process_can_shut_down_gracefully()
    {
        await using var scope = new RuntimeScope(o => o.GracePeriod = TimeSpan.FromSeconds(30));
        var marker = scope.TempFile("terminated.txt");
        var script = "trap 'echo got TERM > \"$MARKER\"; exit 0' TERM; echo trapping; sleep 300 & wait";
        await scope.Runtime.EnsureReplicasAsync(scope.Shell(script, environment: new Dictionary<string, string> { ["MARKER"] = marker }), 1);
        var instance = (await scope.WaitForAsync(i => i.Count == 1 && i[0].State == InstanceState.Running, "a running instance")).Single();
        await Eventually.UntilAsync(async () => await scope.Runtime.GetLogTailAsync(instance.InstanceId, 5), l => l.Contains("trapping"), "the trap to be set");

        await scope.Runtime.RemoveDeploymentAsync(scope.DeploymentId);

        Assert.Equal("got TERM", File.ReadAllText(marker).Trim());
        Assert.Empty(await scope.Runtime.GetInstancesAsync(scope.DeploymentId));
        Assert.Empty(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id)); // the background sleep went with it
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Stopping_kills_the_whole_process_tree_when_SIGTERM_is_ignored(bool processGroups)
    {
        await using var scope = new RuntimeScope(o =>
        {
            o.GracePeriod = TimeSpan.FromMilliseconds(300);
            o.UseProcessGroups = processGroups;
        });
        var script = "trap '' TERM; sh -c 'trap \"\" TERM; echo grandchild $$; exec sleep 300' & wait";
        await scope.Runtime.EnsureReplicasAsync(scope.Shell(script), 1);
        var instance = (await scope.WaitForAsync(i => i.Count == 1 && i[0].State == InstanceState.Running, "a running instance")).Single();
        var line = await Eventually.UntilAsync(async () => await scope.Runtime.GetLogTailAsync(instance.InstanceId, 5), l => l.Any(x => x.StartsWith("grandchild ", StringComparison.Ordinal)), "the grandchild's pid");
        var grandchild = int.Parse(line.First(x => x.StartsWith("grandchild ", StringComparison.Ordinal))["grandchild ".Length..]);
        Assert.True(ProcFs.IsAlive(grandchild));
        Assert.Equal(2, ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id).Count);

        await scope.Runtime.EnsureReplicasAsync(scope.Shell(script), 0);

        Assert.False(ProcFs.IsAlive(grandchild), "the grandchild must be killed with its parent");
        Assert.Empty(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id));
    }

    [Fact]
    public async Task Leftover_children_of_a_crashed_instance_are_killed_when_it_is_removed()
    {
        await using var scope = new RuntimeScope();
        await scope.Runtime.EnsureReplicasAsync(scope.Shell("sleep 300 & echo orphaned $!; exit 1"), 1);
        var failed = (await scope.WaitForAsync(i => i.Count == 1 && i[0].IsTerminated, "the instance to crash")).Single();
        Assert.Equal(InstanceState.Failed, failed.State);
        Assert.Single(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id)); // the orphaned sleep

        await scope.Runtime.RemoveDeploymentAsync(scope.DeploymentId);

        Assert.Empty(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id));
    }

    [Fact]
    public async Task An_instance_with_a_port_gets_its_own_loopback_port_and_runs_once_the_port_accepts_connections()
    {
        await using var scope = new RuntimeScope();
        var script = "echo \"$PORT $PORT_HTTP $ASPNETCORE_URLS\" > env.txt; echo hello > index.html; exec busybox httpd -f -p 127.0.0.1:$PORT -h .";
        await scope.Runtime.EnsureReplicasAsync(scope.Shell(script, ports: [new PortSpec { ContainerPort = 80 }]), 2);

        var instances = await scope.WaitForAsync(i => i.Count == 2 && i.All(x => x.State == InstanceState.Running), "2 running instances");

        Assert.Equal(2, instances.Select(i => i.Endpoint!.Port).Distinct().Count());
        foreach (var instance in instances)
        {
            var endpoint = instance.Endpoint!;
            Assert.Equal("127.0.0.1", endpoint.Host);
            Assert.Equal("http", endpoint.Name);
            using var client = new TcpClient();
            await client.ConnectAsync(endpoint.Host, endpoint.Port);
            var env = File.ReadAllText(Path.Combine(scope.StateDirectory, "instances", instance.InstanceId, "env.txt")).Trim();
            Assert.Equal($"{endpoint.Port} {endpoint.Port} http://127.0.0.1:{endpoint.Port}", env);
        }
    }

    [Fact]
    public async Task An_instance_that_never_opens_its_port_stays_starting()
    {
        await using var scope = new RuntimeScope();
        await scope.Runtime.EnsureReplicasAsync(scope.Shell("echo not listening; " + RunForever, ports: [new PortSpec { ContainerPort = 80 }]), 1);
        var instance = (await scope.WaitForAsync(i => i.Count == 1, "the instance")).Single();
        await Eventually.UntilAsync(async () => await scope.Runtime.GetLogTailAsync(instance.InstanceId, 5), l => l.Contains("not listening"), "the process to run");

        Assert.Equal(InstanceState.Starting, Assert.Single(await scope.Runtime.GetInstancesAsync(scope.DeploymentId)).State);
    }

    [Fact]
    public async Task Secrets_reach_the_process_but_never_its_captured_output_nor_the_state_file()
    {
        await using var scope = new RuntimeScope();
        const string secret = "s3cr3t-value-42";
        var revision = scope.Shell("echo \"token=$API_TOKEN\"; " + RunForever, secrets: new Dictionary<string, string> { ["API_TOKEN"] = secret });
        await scope.Runtime.EnsureReplicasAsync(revision, 1);
        var instance = (await scope.WaitForAsync(i => i.Count == 1 && i[0].State == InstanceState.Running, "a running instance")).Single();

        var lines = await Eventually.UntilAsync(async () => await scope.Runtime.GetLogTailAsync(instance.InstanceId, 5), l => l.Count > 0, "the output");

        Assert.Equal(["token=***"], lines);
        // The process did get it. Waited for: the shell execs sleep after its echo, and for an instant of that exec
        // /proc/<pid>/environ reads empty.
        var pid = Assert.Single(await Eventually.UntilAsync(() => Task.FromResult(ProcFs.WithEnvironment("API_TOKEN=" + secret)), p => p.Count > 0, "the process with the secret in its environment"));
        Assert.Contains(pid, ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id));
        Assert.DoesNotContain(secret, File.ReadAllText(Path.Combine(scope.StateDirectory, ProcessStateFile.FileName)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_log_stream_returns_the_kept_lines_then_follows_new_ones_until_the_process_ends()
    {
        await using var scope = new RuntimeScope();
        var go = scope.TempFile("go");
        var script = "echo first; while [ ! -f \"$GO\" ]; do sleep 0.05; done; echo second; echo third";
        await scope.Runtime.EnsureReplicasAsync(scope.Shell(script, environment: new Dictionary<string, string> { ["GO"] = go }), 1);
        var instance = (await scope.WaitForAsync(i => i.Count == 1, "the instance")).Single();
        await Eventually.UntilAsync(async () => await scope.Runtime.GetLogTailAsync(instance.InstanceId, 5), l => l.Contains("first"), "the first line");

        using var timeout = new CancellationTokenSource(Eventually.DefaultTimeout);
        var received = new List<string>();
        await foreach (var line in scope.Runtime.ReadLogsAsync(instance.InstanceId, timeout.Token))
        {
            received.Add(line);
            if (received.Count == 1)
            {
                File.WriteAllText(go, "");
            }
        }

        Assert.Equal(["first", "second", "third"], received);
    }

    [Fact]
    public async Task A_restarted_runtime_adopts_the_live_processes_it_finds_and_removes_them_on_request()
    {
        await using var scope = new RuntimeScope();
        await scope.Runtime.EnsureReplicasAsync(scope.Shell(RunForever), 2);
        await scope.Runtime.EnsureReplicasAsync(scope.Shell(RunForever, component: "worker", deployment: scope.Id + "-other"), 1);
        var before = await scope.WaitForAsync(i => i.Count == 2 && i.All(x => x.State == InstanceState.Running), "2 running instances");
        // A process just started inside its shell's exec shows no environment for an instant: wait until it does.
        var other = await Eventually.UntilAsync(
            () => Task.FromResult(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id + "-other")),
            pids => pids.Count == 1,
            "the other deployment's process shows its environment");
        await Eventually.UntilAsync(() => ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id).Count == 2, "both processes of the deployment show their environment");

        var restarted = await scope.RestartAsync(); // the first runtime is disposed: it stops nothing

        Assert.Equal(2, ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id).Count);
        var owned = await restarted.ListOwnedAsync();
        Assert.Equal(3, owned.Count);
        Assert.All(owned, i =>
        {
            Assert.Equal(InstanceState.Running, i.State);
            Assert.Equal("vm-tests", i.OwnerId);
        });
        Assert.Equal(before.Select(i => i.InstanceId).Order(), owned.Where(i => i.DeploymentId == scope.Id).Select(i => i.InstanceId).Order());

        await restarted.RemoveDeploymentAsync(scope.DeploymentId);

        Assert.Empty(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id));
        Assert.Equal(other, ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id + "-other")); // only the matching pids were killed
        await restarted.RemoveDeploymentAsync(scope.Id + "-other");
        Assert.Empty(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id + "-other"));
    }

    [Fact]
    public async Task A_recorded_pid_that_now_belongs_to_another_process_is_never_signalled()
    {
        await using var scope = new RuntimeScope();
        await scope.Runtime.DisposeAsync();
        using var unrelated = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sleep", "300") { UseShellExecute = false })!;
        try
        {
            var identity = OsProcesses.TryRead(unrelated.Id)!.Value;
            var revision = scope.Shell(RunForever);
            var labels = revision.GetOwnershipLabels();
            labels[WorkloadLabels.Instance] = scope.Id + "-app-r1-recycled";
            var record = new ProcessRecord
            {
                InstanceId = scope.Id + "-app-r1-recycled",
                Sequence = 1,
                Pid = unrelated.Id,
                StartTicks = identity.StartTicks - 1, // the pid was recycled: another process, another start time
                ProcessGroup = true,
                Labels = labels,
                WorkingDirectory = scope.StateDirectory,
                StartedAt = DateTimeOffset.UnixEpoch,
            };
            await new ProcessStateFile(scope.StateDirectory).WriteAsync([record], CancellationToken.None);

            var restarted = await scope.RestartAsync();
            var owned = Assert.Single(await restarted.ListOwnedAsync());
            Assert.Equal(InstanceState.Exited, owned.State);
            Assert.Equal("vm-tests", owned.OwnerId);

            await restarted.RemoveDeploymentAsync(scope.DeploymentId);

            Assert.Empty(await restarted.ListOwnedAsync());
            Assert.False(unrelated.HasExited, "an unrelated process with a recycled pid must never be killed");
            Assert.Equal(identity.StartTicks, OsProcesses.TryRead(unrelated.Id)!.Value.StartTicks);
        }
        finally
        {
            unrelated.Kill();
            await unrelated.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task A_second_runtime_cannot_share_a_state_directory()
    {
        await using var scope = new RuntimeScope();
        await scope.Runtime.ListOwnedAsync();
        await using var second = new ProcessWorkloadRuntime(Options.Create(new ProcessRuntimeOptions { StateDirectory = scope.StateDirectory }));

        var error = await Assert.ThrowsAsync<OrchestrationException>(() => second.ListOwnedAsync().AsTask());

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Contains("locked by another runtime", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_options_are_rejected_with_every_problem_listed()
    {
        var options = new ProcessRuntimeOptions { GracePeriod = TimeSpan.FromSeconds(-1), LogLines = -1, MaxLineLength = 1, PortCheckInterval = TimeSpan.Zero, DotnetHostPath = " " };

        var problems = OptionsProblems.Of(Assert.ThrowsAny<Exception>(() => new ProcessWorkloadRuntime(Options.Create(options))), typeof(ProcessRuntimeOptions));

        Assert.Equal(5, problems.Count);
    }

    [Fact]
    public void Proc_stat_is_parsed_even_when_the_command_name_holds_spaces_and_parentheses()
    {
        const string stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615";

        var info = OsProcesses.Parse(4242, stat);

        Assert.Equal(new OsProcessInfo(4242, 1, 4242, 987654, IsZombie: false), info);
    }
}
