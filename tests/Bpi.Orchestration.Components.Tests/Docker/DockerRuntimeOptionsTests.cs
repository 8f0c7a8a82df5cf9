using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Components.Tests.Docker;

public sealed class DockerRuntimeOptionsTests
{
    [Fact]
    public void The_defaults_are_valid()
    {
        Assert.True(new DockerRuntimeOptionsValidator().Validate(null, new DockerRuntimeOptions()).Succeeded);
    }

    [Fact]
    public void Every_invalid_option_is_listed_at_once()
    {
        var options = new DockerRuntimeOptions
        {
            Host = "ssh://nope",
            RequestTimeout = TimeSpan.Zero,
            MaxRetryAttempts = -1,
            RetryBaseDelay = TimeSpan.FromSeconds(-1),
            StopTimeout = TimeSpan.FromSeconds(-1),
            StartupCheckWindow = TimeSpan.FromSeconds(-1),
            StartupFailureLogLines = -1,
            PublishAddress = "localhost-ish",
            DefaultPidsLimit = 0,
            NonRootUser = "root",
            TmpfsSizeMb = 0,
            DefaultRestartPolicy = "sometimes",
            DependencyTimeout = TimeSpan.Zero,
            MaxParallelOperations = 0,
        };

        var result = new DockerRuntimeOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Equal(14, result.Failures!.Count());
    }

    [Fact]
    public void AddDocker_registers_the_docker_runtime_as_the_workload_runtime_and_command_runner()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IWorkloadRuntime, UnusedRuntime>();
        new TestBuilder(services).AddDocker(o => o.Host = "tcp://127.0.0.1:1");

        using var provider = services.BuildServiceProvider();

        var runtime = provider.GetRequiredService<IWorkloadRuntime>();
        Assert.Same(provider.GetRequiredService<IDockerWorkloadRuntime>(), runtime);
        Assert.Equal("docker", runtime.Name);
        Assert.IsAssignableFrom<IWorkloadCommandRunner>(runtime);
        Assert.Equal("tcp://127.0.0.1:1", provider.GetRequiredService<IOptions<DockerRuntimeOptions>>().Value.Host);
    }

    [Fact]
    public void Resolving_the_runtime_with_invalid_options_lists_every_problem()
    {
        var services = new ServiceCollection();
        new TestBuilder(services).AddDocker(o =>
        {
            o.PublishAddress = "nowhere";
            o.DefaultPidsLimit = -1;
        });
        using var provider = services.BuildServiceProvider();

        var problems = OptionsProblems.Of(Assert.ThrowsAny<Exception>(() => provider.GetRequiredService<IWorkloadRuntime>()), typeof(DockerRuntimeOptions));

        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("DockerRuntimeOptions.PublishAddress: 'nowhere' is not an IP address; use ", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("DockerRuntimeOptions.DefaultPidsLimit: -1 is not positive; use ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Disposing_the_container_disposes_the_runtime_once()
    {
        var services = new ServiceCollection();
        new TestBuilder(services).AddDocker(o => o.Host = "tcp://127.0.0.1:1");
        var provider = services.BuildServiceProvider();
        var runtime = provider.GetRequiredService<IWorkloadRuntime>();

        await provider.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await runtime.ListOwnedAsync());
    }

    private sealed class TestBuilder(IServiceCollection services) : IOrchestrationBuilder
    {
        public IServiceCollection Services { get; } = services;
    }

    private sealed class UnusedRuntime : IWorkloadRuntime
    {
        public string Name => "unused";

        public ValueTask EnsureReplicasAsync(WorkloadRevision revision, int replicas, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(string deploymentId, string? componentId = null, int? revision = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask RemoveDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<IReadOnlyList<WorkloadInstance>> ListOwnedAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<IReadOnlyList<string>> GetLogTailAsync(string instanceId, int lines, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
