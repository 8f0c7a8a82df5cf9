using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Security.Runtime;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Security.Tests.Runtime;

/// <summary>Runtime inspection reads the runtime's <see cref="IWorkloadInspector"/>; Security keeps no engine client.</summary>
public sealed class WorkloadContainerInspectorTests
{
    private const string Container = """
        { "Id": "c1", "Name": "/bpi-web-1",
          "Config": { "User": "1000", "Image": "app:1", "Labels": { "bpi.orchestration/component": "web" } },
          "HostConfig": { "Privileged": true, "ReadonlyRootfs": false } }
        """;

    [Fact]
    public async Task Runtime_inspection_parses_the_docker_documents_the_runtime_hands_out()
    {
        var inspector = Inspector(new FixedInspector(new WorkloadInspection("web", 2, "c1", WorkloadInspection.DockerEngine, Container)));

        var profile = Assert.Single(await inspector.InspectDeploymentAsync("dep-1"));

        Assert.Equal(("web", "c1", ProfileSource.Runtime, true), (profile.ComponentId, profile.ContainerId, profile.Source, profile.Privileged));
    }

    [Fact]
    public async Task A_document_of_an_engine_Security_cannot_read_is_an_invalid_configuration_that_says_what_to_do()
    {
        var inspector = Inspector(new FixedInspector(new WorkloadInspection("web", 1, "p1", "podman", "{}")));

        var error = await Assert.ThrowsAsync<OrchestrationException>(() => inspector.InspectDeploymentAsync("dep-1").AsTask());

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Contains("register an IContainerInspector", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Runtime_inspection_on_a_runtime_that_cannot_inspect_says_so_when_resolved()
    {
        var services = new ServiceCollection();
        services.AddOrchestration().AddInMemoryRuntime().AddRuntimeInspection();
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OrchestrationException>(() => provider.GetRequiredService<IContainerInspector>());

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Contains("AddDocker()", error.Message, StringComparison.Ordinal);
    }

    private static IContainerInspector Inspector(IWorkloadInspector workloads)
    {
        var services = new ServiceCollection();
        services.AddSingleton(workloads);
        services.AddOrchestration().AddRuntimeInspection();
        return services.BuildServiceProvider().GetRequiredService<IContainerInspector>();
    }

    private sealed class FixedInspector(params WorkloadInspection[] inspections) : IWorkloadInspector
    {
        public ValueTask<IReadOnlyList<WorkloadInspection>> InspectDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default)
            => ValueTask.FromResult<IReadOnlyList<WorkloadInspection>>(inspections);
    }
}
