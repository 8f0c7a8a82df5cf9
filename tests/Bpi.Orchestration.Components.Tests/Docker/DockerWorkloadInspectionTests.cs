using System.Text.Json;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Tests.Infrastructure;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Components.Tests.Docker;

/// <summary>What the Docker runtime hands out about the engine: inspect documents, an owner's objects, images.</summary>
[Collection(DockerEngineCollection.Name)]
public sealed class DockerWorkloadInspectionTests(DockerEngineFixture fixture)
{
    [SkippableFact]
    public async Task Inspecting_a_deployment_gives_each_containers_engine_document_with_its_component_and_revision()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime();
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent(), revision: 3);
        try
        {
            await runtime.EnsureReplicasAsync(revision, 2);
            var instances = await runtime.GetInstancesAsync(revision.DeploymentId);

            var inspections = await runtime.InspectDeploymentAsync(revision.DeploymentId);

            Assert.Equal(instances.Select(i => i.InstanceId).Order(StringComparer.Ordinal), inspections.Select(i => i.InstanceId));
            Assert.All(inspections, inspection =>
            {
                Assert.Equal(("web", 3, WorkloadInspection.DockerEngine), (inspection.ComponentId, inspection.Revision, inspection.Engine));
                using var document = JsonDocument.Parse(inspection.Document);
                Assert.Equal("/" + inspection.InstanceId, document.RootElement.GetProperty("Name").GetString());
                Assert.True(document.RootElement.GetProperty("HostConfig").GetProperty("ReadonlyRootfs").GetBoolean());
            });
            Assert.Empty(await runtime.InspectDeploymentAsync(DockerEngineFixture.NewDeploymentId()));
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
        }
    }

    [SkippableFact]
    public async Task The_owners_objects_are_listed_from_the_engine_until_reconciliation_removes_them()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime();
        var owner = fixture.NewOwnerId();
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent() with
        {
            RuntimeSettings = new Dictionary<string, string> { [DockLockSettings.VolumePrefix + "data"] = "/data" },
        }) with { OwnerId = owner };
        await runtime.EnsureReplicasAsync(revision, 1);

        var owned = await runtime.ListOwnedObjectsAsync(owner);
        Assert.Single(owned.Containers);
        Assert.Single(owned.Networks);
        Assert.Single(owned.Volumes);
        Assert.False(owned.IsEmpty);

        await runtime.ReconcileAsync(owner, new HashSet<string>());
        Assert.True((await runtime.ListOwnedObjectsAsync(owner)).IsEmpty);
    }

    [SkippableFact]
    public async Task Add_docker_registers_the_runtime_as_inspector_and_image_importer_and_imports_an_image()
    {
        await fixture.RequireEngineAsync();
        var services = new ServiceCollection();
        services.AddOrchestration().AddDocker();
        await using var provider = services.BuildServiceProvider();
        var runtime = provider.GetRequiredService<IDockerWorkloadRuntime>();
        Assert.Same(runtime, provider.GetRequiredService<IWorkloadInspector>());
        var images = provider.GetRequiredService<IDockerImageImporter>();
        Assert.Same(runtime, images);

        var tag = "import-" + Guid.NewGuid().ToString("N")[..8];
        Assert.False(await images.ImageExistsAsync(TestImages.Repository + ":" + tag));
        await TestImages.BuildAsync((tar, repository, _, changes) => images.ImportImageAsync(tar, repository, tag, changes).AsTask());
        try
        {
            Assert.True(await images.ImageExistsAsync(TestImages.Repository + ":" + tag));
        }
        finally
        {
            await fixture.Client.RemoveImageAsync(TestImages.Repository + ":" + tag);
        }
    }
}
