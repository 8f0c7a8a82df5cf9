using System.Text;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Docker.Engine;
using Bpi.Orchestration.Components.Tests.Infrastructure;
using Bpi.Orchestration.Runtime;
using Docker.DotNet.Models;

namespace Bpi.Orchestration.Components.Tests.Docker;

/// <summary>
/// Images from a real registry (Debian's docker-registry with htpasswd auth on a loopback port, started by
/// <c>.ci/engines/registry.sh</c>): a test image is pushed, its local copy removed, and the runtime pulls it by tag and by
/// digest; wrong credentials and a missing tag fail as <see cref="OrchestrationErrorKind.ImagePullFailed"/> with the
/// registry's answer, and <see cref="ImagePullPolicy.Never"/> refuses to pull.
/// </summary>
[Collection(DockerEngineCollection.Name)]
public sealed class DockerRegistryPullTests(DockerEngineFixture fixture)
{
    [SkippableFact]
    public async Task An_image_absent_from_the_engine_is_pulled_by_tag_with_the_given_credentials_and_progress_is_reported()
    {
        var (registry, image, _) = await PushAsync();
        var progress = new List<ImagePullProgress>();
        await using var runtime = fixture.CreateRuntime(o =>
        {
            o.RegistryCredentials[registry] = new RegistryCredential(RegistryTestEnvironment.User, RegistryTestEnvironment.Password);
            o.OnPullProgress = p => { lock (progress) { progress.Add(p); } };
        });
        var lines = new Lines();
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent(image: image)) with { Progress = lines };
        try
        {
            await runtime.EnsureReplicasAsync(revision, 1);

            var instance = Assert.Single(await runtime.GetInstancesAsync(revision.DeploymentId, revision.Component.Id, revision.Revision));
            Assert.Equal(InstanceState.Running, instance.State);
            Assert.NotEmpty(progress);
            var reported = lines.Snapshot();
            Assert.All(reported, l => Assert.StartsWith($"pull {image}: ", l, StringComparison.Ordinal));
            Assert.StartsWith($"pull {image}: pulling from {registry} (not present)", reported[0], StringComparison.Ordinal);
            Assert.Matches(@": done in \d+\.\d s$", reported[^1]);
            Assert.Contains(reported, l => l.StartsWith($"pull {image}: Digest: sha256:", StringComparison.Ordinal));
            Assert.Equal(reported.Count, reported.Distinct(StringComparer.Ordinal).Count());
            Assert.All(progress, p => Assert.Equal(image, p.Image));
            Assert.Contains(progress, p => p.Status.Contains("Digest: sha256:", StringComparison.Ordinal) || p.Status.Contains("Downloaded newer image", StringComparison.Ordinal));
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
            await RemoveLocalAsync(image);
        }
    }

    [SkippableFact]
    public async Task A_digest_pinned_reference_is_pulled_exactly_with_credentials_from_the_docker_config()
    {
        var (registry, image, digest) = await PushAsync();
        var pinned = image[..image.LastIndexOf(':')] + "@" + digest;
        var config = Path.Combine(Path.GetTempPath(), "bpi-docker-config-" + Guid.NewGuid().ToString("N") + ".json");
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes(RegistryTestEnvironment.User + ":" + RegistryTestEnvironment.Password));
        await File.WriteAllTextAsync(config, "{\"auths\":{\"" + registry + "\":{\"auth\":\"" + auth + "\"}}}");
        await using var runtime = fixture.CreateRuntime(o => o.DockerConfigPath = config);
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent(image: pinned));
        try
        {
            await runtime.EnsureReplicasAsync(revision, 1);

            var instance = Assert.Single(await runtime.GetInstancesAsync(revision.DeploymentId, revision.Component.Id, revision.Revision));
            Assert.Equal(InstanceState.Running, instance.State);
            var pulled = await fixture.Client.InspectImageAsync(pinned);
            Assert.Contains(pulled.RepoDigests ?? [], d => d.EndsWith("@" + digest, StringComparison.Ordinal));
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
            await RemoveLocalAsync(pinned);
            File.Delete(config);
        }
    }

    [SkippableFact]
    public async Task A_wrong_password_fails_as_ImagePullFailed_with_the_registry_answer_and_creates_nothing()
    {
        var (registry, image, _) = await PushAsync();
        await using var runtime = fixture.CreateRuntime(o =>
        {
            o.RegistryCredentials[registry] = new RegistryCredential(RegistryTestEnvironment.User, "wrong-" + RegistryTestEnvironment.Password);
            o.DockerConfigPath = "/nonexistent/config.json";
        });
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent(image: image));
        try
        {
            var error = await Assert.ThrowsAsync<DockerEngineException>(async () => await runtime.EnsureReplicasAsync(revision, 1));

            Assert.Equal(OrchestrationErrorKind.ImagePullFailed, error.Kind);
            Assert.Contains(image, error.Message, StringComparison.Ordinal);
            Assert.Contains(registry, error.Message, StringComparison.Ordinal);
            Assert.Contains("unauthorized", error.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Empty(await fixture.Client.ListContainersAsync(new Dictionary<string, string?> { [WorkloadLabels.Deployment] = revision.DeploymentId }));
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
            await RemoveLocalAsync(image);
        }
    }

    [SkippableFact]
    public async Task A_missing_tag_fails_as_ImagePullFailed_naming_the_image_and_the_registry_answer()
    {
        var (registry, image, _) = await PushAsync();
        var missing = image[..image.LastIndexOf(':')] + ":no-such-tag";
        await using var runtime = fixture.CreateRuntime(o => o.RegistryCredentials[registry] = new RegistryCredential(RegistryTestEnvironment.User, RegistryTestEnvironment.Password));
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent(image: missing));
        try
        {
            var error = await Assert.ThrowsAsync<DockerEngineException>(async () => await runtime.EnsureReplicasAsync(revision, 1));

            Assert.Equal(OrchestrationErrorKind.ImagePullFailed, error.Kind);
            Assert.Contains(missing, error.Message, StringComparison.Ordinal);
            Assert.Contains("not found", error.Message, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
            await RemoveLocalAsync(image);
        }
    }

    [SkippableFact]
    public async Task Pull_policy_Never_with_an_absent_image_fails_clearly_without_pulling()
    {
        var (registry, image, _) = await PushAsync();
        await using var runtime = fixture.CreateRuntime(o => o.RegistryCredentials[registry] = new RegistryCredential(RegistryTestEnvironment.User, RegistryTestEnvironment.Password));
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent(image: image) with { PullPolicy = ImagePullPolicy.Never });
        try
        {
            var error = await Assert.ThrowsAsync<DockerEngineException>(async () => await runtime.EnsureReplicasAsync(revision, 1));

            Assert.Equal(OrchestrationErrorKind.ImagePullFailed, error.Kind);
            Assert.Contains("pullPolicy is Never", error.Message, StringComparison.Ordinal);
            var absent = await Assert.ThrowsAsync<DockerEngineException>(() => fixture.Client.InspectImageAsync(image));
            Assert.Equal(OrchestrationErrorKind.NotFound, absent.Kind);
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
        }
    }

    /// <summary>Pushes the plain test image to the registry under a new repository and removes the local name, so only a pull brings it back.</summary>
    private async Task<(string Registry, string Image, string Digest)> PushAsync()
    {
        await fixture.RequireEngineAsync();
        var registry = RegistryTestEnvironment.Require();
        var repository = registry + "/bpi-test/pull-" + Guid.NewGuid().ToString("N")[..8];
        await fixture.Client.TagImageAsync(TestImages.Plain, repository, "v1");
        var auth = new AuthConfig { Username = RegistryTestEnvironment.User, Password = RegistryTestEnvironment.Password, ServerAddress = registry };
        var digest = await fixture.Client.PushImageAsync(repository, "v1", auth);
        await RemoveLocalAsync(repository + ":v1");
        return (registry, repository + ":v1", digest);
    }

    private async Task RemoveLocalAsync(string image)
    {
        try
        {
            await fixture.Client.RemoveImageAsync(image);
        }
        catch (DockerEngineException exception) when (exception.Kind == OrchestrationErrorKind.NotFound)
        {
        }
    }

    /// <summary>The lines the runtime reports through <see cref="WorkloadRevision.Progress"/>, in order.</summary>
    private sealed class Lines : IProgress<string>
    {
        private readonly List<string> _lines = [];

        public void Report(string value)
        {
            lock (_lines)
            {
                _lines.Add(value);
            }
        }

        public List<string> Snapshot()
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }
}
