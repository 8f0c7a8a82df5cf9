using Bpi.Orchestration.Kubernetes.Emulator;
using Bpi.Orchestration.Security;
using Bpi.Orchestration.Security.Assessment;
using Bpi.Orchestration.Security.Checks;
using Bpi.Orchestration.Security.Runtime;
using Bpi.Orchestration.Strategies.Rolling;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Kubernetes.Tests.Security;

/// <summary>
/// The Security package judges pods through the same Core port (<see cref="Bpi.Orchestration.Runtime.IWorkloadInspector"/>) as
/// Docker containers: the Kubernetes runtime hands out each pod's object, the package maps the PSS restricted
/// securityContext onto the DockLock checks.
/// </summary>
public sealed class PodSecurityAssessmentTests : IAsyncLifetime
{
    /// <summary>The checks DockLock (the PSS restricted profile on Kubernetes) answers for.</summary>
    private static readonly string[] HardeningChecks = ["001", "003", "004", "005", "006", "007", "009", "010", "011", "012", "013", "014", "016", "018", "019", "021"];

    private readonly TempDirectory _temp = new("bpi-k8s");
    private KubernetesEmulator _emulator = null!;
    private KubernetesHost _host = null!;

    public async Task InitializeAsync()
    {
        _emulator = await KubernetesEmulator.StartAsync();
        _emulator.WriteKubeconfig(_temp.Combine("kubeconfig"));
        _host = await KubernetesHost.StartAsync(_temp.Combine("kubeconfig"), configure: b => b.AddRuntimeInspection());
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _emulator.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_deployment_on_kubernetes_passes_the_hardening_checks_read_from_its_pods()
    {
        var spec = Spec(new Dictionary<string, string>());
        var id = await _host.Vm.DeployAsync(spec);
        Assert.Equal(DeploymentState.Running, (await _host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout())).State);

        var profiles = await _host.Services.GetRequiredService<IContainerInspector>().InspectDeploymentAsync(id);
        Assert.Equal(2, profiles.Count);
        var profile = profiles[0];
        Assert.Equal("web", profile.ComponentId);
        Assert.Equal(ProfileSource.Runtime, profile.Source);
        Assert.Equal("65534:65534", profile.User);
        Assert.Equal("default", profile.SeccompProfile);
        Assert.Equal(["MODE"], profile.PlainEnvironmentNames); // API_KEY comes from the Secret: not plain
        Assert.Equal(64L * 1024 * 1024, profile.MemoryLimitBytes);
        Assert.Equal(0.1, profile.CpuLimitCores);
        Assert.Null(profile.PidsLimit); // a kubelet setting, not in the pod

        using var assessor = new SecurityAssessor(Options.Create(new SecurityOptions()));
        var assessment = await assessor.AssessContainersAsync(spec.Name, id, spec, profiles);
        foreach (var check in HardeningChecks)
        {
            var result = assessment.ResultOf("BPI-SEC-" + check)!;
            Assert.True(result.Outcome == CheckOutcome.Passed, $"BPI-SEC-{check}: {result.Outcome} {string.Join("; ", result.Observations.Select(o => o.Evidence))}");
        }

        Assert.Equal(CheckOutcome.NotApplicable, assessment.ResultOf("BPI-SEC-020")!.Outcome);
        Assert.DoesNotContain(assessment.Findings, f => f.CheckId is "BPI-SEC-026" or "BPI-SEC-029" or "BPI-SEC-030");
        Assert.DoesNotContain("s3cret", string.Join(" ", assessment.Findings.Select(f => f.Evidence)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_relaxed_default_on_kubernetes_is_a_finding_that_quotes_its_reason()
    {
        var spec = Spec(new Dictionary<string, string>
        {
            ["docklock.readOnlyRootFilesystem"] = "false",
            ["docklock.readOnlyRootFilesystem.reason"] = "writes its cache under /var/cache",
        });
        var id = await _host.Vm.DeployAsync(spec);
        Assert.Equal(DeploymentState.Running, (await _host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout())).State);

        var profiles = await _host.Services.GetRequiredService<IContainerInspector>().InspectDeploymentAsync(id);
        using var assessor = new SecurityAssessor(Options.Create(new SecurityOptions()));
        var assessment = await assessor.AssessContainersAsync(spec.Name, id, spec, profiles);

        var finding = Assert.Single(assessment.Findings, f => f.CheckId == "BPI-SEC-013");
        Assert.Contains("the root filesystem is writable (docklock.readOnlyRootFilesystem relaxed: writes its cache under /var/cache)", finding.Evidence, StringComparison.Ordinal);
        Assert.Equal(CheckOutcome.Passed, assessment.ResultOf("BPI-SEC-010")!.Outcome);
    }

    private static DeploymentSpec Spec(IReadOnlyDictionary<string, string> runtimeSettings)
    {
        var spec = KubernetesHost.Web("registry.example/web@sha256:" + new string('a', 64), 2, new RollingStrategySpec(), secrets: new Dictionary<string, string> { ["API_KEY"] = "s3cret" });
        return spec with
        {
            Validation = spec.Validation with { HealthValidation = false },
            Components =
            [
                spec.Components[0] with
                {
                    HealthCheck = new HealthCheckSpec { Kind = HealthCheckKind.Http, Path = "/health" },
                    RuntimeSettings = runtimeSettings,
                },
            ],
        };
    }
}
