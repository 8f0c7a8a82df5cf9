using System.Diagnostics;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Security.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Security.Tests.Runtime;

/// <summary>
/// Assessing running containers from their <c>docker inspect</c> documents, which the Docker runtime hands out
/// (<see cref="IWorkloadInspector"/>), on a real engine (skipped without one unless BPI_REQUIRE_DOCKER=1).
/// </summary>
[Collection(SecurityDockerCollection.Name)]
public sealed class DockerRuntimeAssessmentTests(DockerRuntimeFixture fixture)
{
    [SkippableFact]
    public async Task A_DockLock_container_passes_the_runtime_hardening_checks()
    {
        await fixture.RequireEngineAsync();
        var runtime = fixture.Runtime;
        var revision = fixture.Revision(DockerRuntimeFixture.HttpComponent() with { Environment = new Dictionary<string, string> { ["APP_VERSION"] = "v1" }, Secrets = new Dictionary<string, string> { ["DB_PASSWORD"] = "s3cret" } });
        try
        {
            await runtime.EnsureReplicasAsync(revision, 1);
            var inspector = fixture.Services.GetRequiredService<IContainerInspector>();
            var profile = Assert.Single(await inspector.InspectDeploymentAsync(revision.DeploymentId));
            Assert.Equal("web", profile.ComponentId);
            Assert.Equal("65534:65534", profile.User);

            using var assessor = TestSpecs.Assessor();
            var spec = new DeploymentSpec { Name = "test", AppId = "bpi-test", Environment = "test", Components = [revision.Component] };
            var assessment = await assessor.AssessContainersAsync("test", revision.DeploymentId, spec, [profile]);
            foreach (var id in new[] { "001", "002", "003", "004", "005", "006", "007", "009", "010", "011", "012", "013", "014", "016", "018", "019", "020", "021", "022", "023", "033" })
            {
                Assert.True(assessment.ResultOf("BPI-SEC-" + id)!.Outcome == CheckOutcome.Passed, $"BPI-SEC-{id}: {string.Join("; ", assessment.ResultOf("BPI-SEC-" + id)!.Observations.Select(o => o.Evidence))}");
            }

            // The plain test image has no HEALTHCHECK, the runtime's restart policy is "no", and the tag is not a digest.
            Assert.Equal(["BPI-SEC-026", "BPI-SEC-029", "BPI-SEC-030"], assessment.Findings.Select(f => f.CheckId).Order(StringComparer.Ordinal));
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
        }
    }

    [SkippableFact]
    public async Task A_container_started_with_unsafe_options_is_caught_by_the_inspection()
    {
        await fixture.RequireEngineAsync();
        var deploymentId = DockerRuntimeFixture.NewDeploymentId();
        var name = "bpi-sec-" + deploymentId;
        // Created, not started: a privileged container cannot start inside this sandbox, and inspect reads a created one alike.
        await DockerCliAsync(
            "create", "--name", name,
            "--label", WorkloadLabels.Owner + "=" + fixture.OwnerId,
            "--label", WorkloadLabels.Deployment + "=" + deploymentId,
            "--label", WorkloadLabels.Component + "=legacy",
            "--privileged", "--cap-add", "SYS_PTRACE", "--pid", "host", "--ipc", "host",
            "--security-opt", "seccomp=unconfined",
            "-v", "/etc:/host-etc:ro",
            "-e", "DB_PASSWORD=hunter2",
            "-p", "0.0.0.0::8080",
            "bpi-test/busybox:plain");
        try
        {
            var inspector = fixture.Services.GetRequiredService<IContainerInspector>();
            var profile = Assert.Single(await inspector.InspectDeploymentAsync(deploymentId));
            Assert.Equal("legacy", profile.ComponentId);
            using var assessor = TestSpecs.Assessor();
            var assessment = await assessor.AssessContainersAsync(name, deploymentId, null, [profile]);
            var failed = assessment.Findings.Select(f => f.CheckId).ToHashSet();
            Assert.Superset(new HashSet<string> { "BPI-SEC-001", "BPI-SEC-003", "BPI-SEC-004", "BPI-SEC-006", "BPI-SEC-007", "BPI-SEC-009", "BPI-SEC-010", "BPI-SEC-013", "BPI-SEC-014", "BPI-SEC-018", "BPI-SEC-021", "BPI-SEC-022" }, failed);
            Assert.True(assessment.Score <= SecurityScore.CriticalCap);
            Assert.DoesNotContain("hunter2", string.Join(" ", assessment.Findings.Select(f => f.Evidence)), StringComparison.Ordinal);
        }
        finally
        {
            await DockerCliAsync("rm", "-f", name);
        }
    }

    [SkippableFact]
    public async Task An_unreachable_engine_is_a_runtime_unavailable_error()
    {
        await fixture.RequireEngineAsync();
        var services = new ServiceCollection();
        services.AddOrchestration().AddDocker(o =>
        {
            o.Host = "unix:///nonexistent/docker.sock";
            o.MaxRetryAttempts = 0;
        }).AddRuntimeInspection();
        await using var provider = services.BuildServiceProvider();
        var inspector = provider.GetRequiredService<IContainerInspector>();
        var error = await Assert.ThrowsAsync<DockerEngineException>(() => inspector.InspectDeploymentAsync("x").AsTask());
        Assert.Equal(OrchestrationErrorKind.RuntimeUnavailable, error.Kind);
    }

    private static async Task DockerCliAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("docker") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"docker {string.Join(' ', arguments)} failed: {await stderr}");
    }
}
