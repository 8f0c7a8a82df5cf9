using Bpi.Orchestration.Processes;
using Bpi.Orchestration.Runtime;
using Xunit;

namespace Bpi.Orchestration.Components.Tests.Processes;

/// <summary>The process table (<c>instances.json</c>) damaged between two runtimes: never silently read as "nothing runs".</summary>
public sealed class ProcessTableDamageTests
{
    private const string RunForever = "exec sleep 300";

    [Theory]
    [InlineData("truncated")]
    [InlineData("garbage")]
    [InlineData("empty object")]
    [InlineData("null")]
    [InlineData("deleted")]
    [InlineData("no instances")]
    [InlineData("one entry dropped")]
    public async Task A_damaged_or_missing_table_is_rebuilt_from_the_running_processes_so_nothing_runs_twice_or_is_left_behind(string damage)
    {
        await using var scope = new RuntimeScope();
        var revision = scope.Shell(RunForever);
        await scope.Runtime.EnsureReplicasAsync(revision, 2);
        await scope.WaitForAsync(i => i.Count == 2 && i.All(x => x.State == InstanceState.Running), "2 running instances");
        var restarted = await scope.RestartAsync();
        var table = scope.TempFile(ProcessStateFile.FileName);
        var text = await File.ReadAllTextAsync(table);
        switch (damage)
        {
            case "truncated": await File.WriteAllTextAsync(table, text[..(text.Length / 2)]); break;
            case "garbage": await File.WriteAllTextAsync(table, "\u0001not json at all"); break;
            case "empty object": await File.WriteAllTextAsync(table, "{}"); break;
            case "null": await File.WriteAllTextAsync(table, "null"); break;
            case "deleted": File.Delete(table); break;
            case "no instances": await File.WriteAllTextAsync(table, """{"version":1,"instances":[]}"""); break;
            case "one entry dropped":
                var (records, _) = await new ProcessStateFile(scope.StateDirectory).ReadAsync(_ => { }, CancellationToken.None);
                await new ProcessStateFile(scope.StateDirectory).WriteAsync(records.Skip(1), CancellationToken.None);
                break;
        }

        Assert.Equal(2, (await restarted.GetInstancesAsync(scope.DeploymentId)).Count(i => i.State == InstanceState.Running));
        await restarted.EnsureReplicasAsync(revision, 3);
        // A process that was just started can be inside its shell's exec, when /proc shows no environment for an
        // instant: wait for the marker count to settle. Duplicates (the defect) would keep it above 3 and fail here.
        await Eventually.UntilAsync(() => Task.FromResult(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id).Count), c => c == 3, "exactly 3 marked processes");

        await restarted.RemoveDeploymentAsync(scope.DeploymentId);
        Assert.Empty(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id));
        Assert.Empty(Directory.GetDirectories(scope.TempFile("instances")));
    }

    [Fact]
    public async Task A_table_that_is_a_directory_fails_closed_naming_the_path_and_starts_or_stops_nothing()
    {
        await using var scope = new RuntimeScope();
        var revision = scope.Shell(RunForever);
        await scope.Runtime.EnsureReplicasAsync(revision, 2);
        var restarted = await scope.RestartAsync();
        var table = scope.TempFile(ProcessStateFile.FileName);
        File.Move(table, table + ".aside");
        Directory.CreateDirectory(table);

        var scale = await Assert.ThrowsAsync<OrchestrationException>(() => restarted.EnsureReplicasAsync(revision, 3).AsTask());
        var remove = await Assert.ThrowsAsync<OrchestrationException>(() => restarted.RemoveDeploymentAsync(scope.DeploymentId).AsTask());

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, scale.Kind);
        Assert.Contains(table, scale.Message, StringComparison.Ordinal);
        Assert.Contains("is a directory", remove.Message, StringComparison.Ordinal);

        // Once the directory is moved away, the same runtime opens: the processes are found by their marker. (Moved
        // away before the process count is checked, so a failing check still lets the scope clean up.)
        Directory.Delete(table);
        Assert.Equal(2, (await restarted.GetInstancesAsync(scope.DeploymentId)).Count);

        // Nothing was started or stopped. A process inside its shell's exec shows no environment for an instant, so
        // wait for the marker count to settle: a third process (or a stopped one) would keep it off 2 and fail here.
        await Eventually.UntilAsync(() => Task.FromResult(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id).Count), c => c == 2, "exactly the 2 marked processes started before the damage");
    }

    [Fact]
    public async Task An_instance_recorded_as_an_intent_is_adopted_when_its_process_runs_and_dropped_with_its_directory_when_none_does()
    {
        await using var scope = new RuntimeScope();
        var revision = scope.Shell(RunForever);
        await scope.Runtime.EnsureReplicasAsync(revision, 1);
        var restarted = await scope.RestartAsync();
        var file = new ProcessStateFile(scope.StateDirectory);
        var (records, _) = await file.ReadAsync(_ => { }, CancellationToken.None);
        var running = Assert.Single(records);
        var neverStarted = running with { InstanceId = running.InstanceId + "x", Pid = 0, StartTicks = 0, WorkingDirectory = running.WorkingDirectory + "x" };
        Directory.CreateDirectory(neverStarted.WorkingDirectory);
        await file.WriteAsync([running with { Pid = 0, StartTicks = 0 }, neverStarted], CancellationToken.None);

        var instance = Assert.Single(await restarted.GetInstancesAsync(scope.DeploymentId));

        Assert.Equal(running.InstanceId, instance.InstanceId);
        Assert.Equal(InstanceState.Running, instance.State);
        Assert.False(Directory.Exists(neverStarted.WorkingDirectory));
        var (rewritten, _) = await file.ReadAsync(_ => { }, CancellationToken.None);
        Assert.Equal(running.Pid, Assert.Single(rewritten).Pid);
    }
}
