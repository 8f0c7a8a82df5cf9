using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Tests.State;

public sealed class FileDeploymentStoreTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bpi-store-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task A_record_round_trips_with_its_revisions_strategy_and_cursor()
    {
        var store = new FileDeploymentStore(_directory);
        var spec = Specs.Web(replicas: 3) with
        {
            Labels = new Dictionary<string, string> { ["team"] = "payments" },
            Infrastructure = new InfrastructureConfig
            {
                Network = new NetworkConfig { VpcCidr = "10.0.0.0/16", SubnetCidrs = ["10.0.1.0/24"] },
                Security = new SecurityConfig { EncryptionLevel = EncryptionLevel.High },
            },
            Validation = new ValidationSettings { ProgressDeadline = TimeSpan.FromMinutes(3) },
        };
        var record = new DeploymentRecord
        {
            Id = "web-1",
            State = DeploymentState.Deploying,
            Revisions = [new RevisionSpec(1, spec), new RevisionSpec(2, spec with { Components = [spec.Components[0] with { Image = "web:2" }] })],
            StableRevision = 1,
            TargetRevision = 2,
            Cursor = new RolloutCursor(RolloutKind.Rollout, 1, 2, 3, 7),
            CreatedAt = new DateTimeOffset(2026, 11, 22, 8, 0, 0, TimeSpan.Zero),
            UpdatedAt = new DateTimeOffset(2026, 11, 22, 8, 1, 0, TimeSpan.Zero),
            CreatedBy = "alice",
            Allocation = new ResourceRequirements { CpuCores = 1.5, MemoryMb = 768 },
            SecurityScore = 8.5,
        };

        await store.SaveAsync(record);
        var read = await new FileDeploymentStore(_directory).GetAsync("web-1");

        Assert.NotNull(read);
        Assert.Equal(record.Cursor, read.Cursor);
        Assert.Equal(record.Allocation, read.Allocation);
        Assert.Equal(DeploymentState.Deploying, read.State);
        Assert.IsType<RecreateStrategySpec>(read.Revisions[1].Spec.Strategy);
        Assert.Equal("web:2", read.Revisions[1].Spec.Components[0].Image);
        Assert.Equal(TimeSpan.FromMinutes(3), read.Revisions[0].Spec.Validation.ProgressDeadline);
        Assert.Equal("10.0.1.0/24", read.Revisions[0].Spec.Infrastructure.Network!.SubnetCidrs[0]);
        Assert.Equal("payments", read.Revisions[0].Spec.Labels["team"]);
        Assert.Empty(read.Revisions[0].Spec.Validate());
        Assert.False(File.Exists(Path.Combine(_directory, "web-1.json.tmp")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_directory, "web-1.json")));
        }
    }

    [Fact]
    public async Task A_record_naming_a_strategy_that_is_not_loaded_is_refused_with_a_clear_error()
    {
        Directory.CreateDirectory(_directory);
        var store = new FileDeploymentStore(_directory);
        await store.SaveAsync(new DeploymentRecord
        {
            Id = "x-1",
            State = DeploymentState.Running,
            Revisions = [new RevisionSpec(1, Specs.Web())],
            CreatedAt = DateTimeOffset.UnixEpoch,
            UpdatedAt = DateTimeOffset.UnixEpoch,
            CreatedBy = "system",
        });
        var path = Path.Combine(_directory, "x-1.json");
        await File.WriteAllTextAsync(path, (await File.ReadAllTextAsync(path)).Replace("\"strategy\": \"recreate\"", "\"strategy\": \"acme-canary\"", StringComparison.Ordinal));

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => store.GetAsync("x-1").AsTask());

        Assert.Contains("'acme-canary' is not registered", ex.Message, StringComparison.Ordinal);
        Assert.Contains("add the package that provides it", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_scan_returns_the_readable_records_and_names_each_file_that_cannot_be_read()
    {
        var store = new FileDeploymentStore(_directory);
        await store.SaveAsync(new DeploymentRecord { Id = "web-1", State = DeploymentState.Running, Revisions = [new RevisionSpec(1, Specs.Web())], CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch, CreatedBy = "alice" });
        await File.WriteAllTextAsync(Path.Combine(_directory, "api-1.json"), "\u0087garbage");
        Directory.CreateDirectory(Path.Combine(_directory, "odd-dir.json"));

        var scan = await store.ScanAsync();

        Assert.Equal("web-1", Assert.Single(scan.Records).Id);
        Assert.Equal(["api-1.json", "odd-dir.json"], scan.Unreadable.Keys.Order(StringComparer.Ordinal));
        Assert.Contains(Path.Combine(_directory, "api-1.json"), scan.Unreadable["api-1.json"], StringComparison.Ordinal);
        Assert.Contains("is a directory", scan.Unreadable["odd-dir.json"], StringComparison.Ordinal);
        var whole = await Assert.ThrowsAsync<OrchestrationException>(async () => await store.GetAsync("api-1"));
        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, whole.Kind);
        Assert.Empty(Directory.EnumerateFiles(_directory, "*.tmp"));
    }

    [Fact]
    public async Task State_survives_a_new_orchestrator_on_the_same_directory()
    {
        var clock = new ManualTimeProvider();
        using var runtime = new InMemoryWorkloadRuntime(timeProvider: clock);
        string id;
        await using (var first = Build())
        {
            var vm = first.GetRequiredService<IOrchestrationVm>();
            id = await vm.DeployAsync(Specs.Web(replicas: 2));
            await vm.WaitUntilSettledAsync(id, TestHost.Timeout());
        }

        await using var second = Build();
        var status = await second.GetRequiredService<IOrchestrationVm>().GetStatusAsync(id);

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(2, status.Components[0].Instances.Single().Running);

        ServiceProvider Build()
        {
            var services = new ServiceCollection();
            services.AddOrchestration(o => o.VmId = "vm-file").UseTimeProvider(clock).UseDeploymentStore(new FileDeploymentStore(_directory));
            services.AddSingleton<Runtime.IWorkloadRuntime>(runtime);
            return services.BuildServiceProvider();
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
