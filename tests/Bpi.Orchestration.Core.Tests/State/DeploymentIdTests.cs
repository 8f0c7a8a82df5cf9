using System.Diagnostics;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;
using Xunit;

namespace Bpi.Orchestration.Tests.State;

/// <summary>Deployment ids are checked against one grammar wherever they enter, and a store never reads past a regular file.</summary>
public sealed class DeploymentIdTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "bpi-ids-" + Guid.NewGuid().ToString("N"));

    private string StoreDirectory => Path.Combine(_root, "store");

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Theory]
    [InlineData("web-0a1b2c3d", true)]
    [InlineData("x", true)]
    [InlineData("a.b_c-1", true)]
    [InlineData("", false)]
    [InlineData(".", false)]
    [InlineData("..", false)]
    [InlineData(".hidden", false)]
    [InlineData("-web", false)]
    [InlineData("../../victim", false)]
    [InlineData("/etc/passwd", false)]
    [InlineData("a/b", false)]
    [InlineData("a\\b", false)]
    [InlineData("web\u001b[2J", false)]
    [InlineData("wéb", false)]
    public void The_id_grammar_accepts_generated_ids_and_refuses_paths(string id, bool valid)
        => Assert.Equal(valid, DeploymentIds.IsValid(id));

    [Fact]
    public void An_id_longer_than_the_limit_is_refused() => Assert.False(DeploymentIds.IsValid(new string('a', DeploymentIds.MaxLength + 1)));

    public static TheoryData<string> VmOperations() => ["status", "history", "scale", "update", "rollback", "destroy", "pause", "resume", "abort", "promote", "approve", "reject", "plan", "wait"];

    [Theory]
    [MemberData(nameof(VmOperations))]
    public async Task Every_vm_operation_refuses_a_path_as_deployment_id_as_not_a_deployment_id(string operation)
    {
        await using var host = new TestHost();
        var vm = host.Vm;
        var id = "../../" + Path.GetFileName(_root);

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => operation switch
        {
            "status" => vm.GetStatusAsync(id),
            "history" => vm.GetRolloutHistoryAsync(id),
            "scale" => vm.ScaleAsync(id, 1),
            "update" => vm.UpdateAsync(id, Specs.Web()),
            "rollback" => vm.RollbackAsync(id),
            "destroy" => vm.DestroyAsync(id),
            "pause" => vm.PauseAsync(id),
            "resume" => vm.ResumeAsync(id),
            "abort" => vm.AbortAsync(id),
            "promote" => vm.PromoteAsync(id),
            "approve" => vm.ApproveAsync(id, "gate"),
            "reject" => vm.RejectAsync(id, "gate"),
            "plan" => vm.PlanAsync(Specs.Web(), id),
            _ => vm.WaitForStateAsync(id, _ => true),
        });

        Assert.Equal(OrchestrationErrorKind.NotFound, ex.Kind);
        Assert.Contains("is not a deployment id", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_store_never_touches_a_path_outside_its_directory()
    {
        var store = new FileDeploymentStore(StoreDirectory);
        var victim = Path.Combine(_root, "victim.json");
        File.WriteAllText(victim, "precious");

        foreach (var id in new[] { "../victim", victim[..^".json".Length], "..", "." })
        {
            var delete = await Assert.ThrowsAsync<OrchestrationException>(async () => await store.DeleteAsync(id));
            Assert.Contains("is not a deployment id", delete.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<OrchestrationException>(async () => await store.GetAsync(id));
        }

        Assert.Equal("precious", File.ReadAllText(victim));
    }

    [Fact]
    public async Task A_record_file_that_is_a_fifo_or_a_device_is_reported_at_once_not_read()
    {
        var store = new FileDeploymentStore(StoreDirectory);
        var fifo = Path.Combine(StoreDirectory, "web-1.json");
        using (var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [fifo]) { UseShellExecute = false })!)
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        File.CreateSymbolicLink(Path.Combine(StoreDirectory, "api-1.json"), "/dev/zero");
        try
        {
            var fromFifo = await Assert.ThrowsAsync<OrchestrationException>(async () => await store.GetAsync("web-1").AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains(fifo, fromFifo.Message, StringComparison.Ordinal);
            var fromDevice = await Assert.ThrowsAsync<OrchestrationException>(async () => await store.GetAsync("api-1").AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("character device", fromDevice.Message, StringComparison.Ordinal);
        }
        catch (TimeoutException)
        {
            await File.WriteAllTextAsync(fifo, "");
            Assert.Fail("the store blocked on a FIFO or read a device without end");
        }
    }

    [Fact]
    public async Task A_stored_record_without_revisions_is_reported_with_its_file_instead_of_failing_later()
    {
        var store = new FileDeploymentStore(StoreDirectory);
        await store.SaveAsync(new DeploymentRecord
        {
            Id = "web-1",
            State = DeploymentState.Running,
            Revisions = [new RevisionSpec(1, Specs.Web())],
            StableRevision = 1,
            CreatedAt = DateTimeOffset.UnixEpoch,
            UpdatedAt = DateTimeOffset.UnixEpoch,
            CreatedBy = "alice",
        });
        var path = Path.Combine(StoreDirectory, "web-1.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"revisions\": [", "\"revisions\": null, \"x\": [", StringComparison.Ordinal));

        var ex = await Assert.ThrowsAsync<OrchestrationException>(async () => await store.GetAsync("web-1"));

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, ex.Kind);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("revisions", ex.Message, StringComparison.Ordinal);
    }
}
