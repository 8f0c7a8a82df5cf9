using System.Globalization;
using Bpi.Orchestration.Audit;
using Bpi.Orchestration.Cli.Hosting;
using Bpi.Orchestration.Cli.Output;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Strategies.Canary;
using Spectre.Console;

namespace Bpi.Orchestration.Cli.Demo;

/// <summary>
/// <c>demo --runtime kubernetes --image &lt;image&gt;</c>: the product on a cluster, with an image the user names (it must
/// serve as a non-root user: DockLock is the Pod Security Standards' restricted profile there). v1 as 3 pods; a canary
/// to v2 (a new environment variable) promoted step by step; a canary to v3 whose image does not exist (the image with
/// the tag <see cref="MissingTag"/>), which fails with the pod's ImagePullBackOff and is rolled back while v2 keeps
/// serving; the audit trail verified; everything removed. The orchestrator's probes cannot reach pods from outside the
/// cluster, so readiness is the pods' own; without <c>--kube-gateway</c> the canary weights follow replica counts.
/// </summary>
internal sealed class KubernetesDemoRunner(CliEnvironment env, StateDirectory state, RuntimeSelection selection, string image, bool json)
{
    /// <summary>The tag of v3's image: a tag no registry serves, so its pull fails.</summary>
    public const string MissingTag = "bpi-demo-missing";

    private readonly List<DemoCheckView> _checks = [];
    private readonly string _vmId = "bpi-demo-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>v3's image: <paramref name="image"/> with its tag (or digest) replaced by <see cref="MissingTag"/>.</summary>
    public static string MissingImage(string image)
    {
        var name = image.Split('@')[0];
        var slash = name.LastIndexOf('/');
        var colon = name.LastIndexOf(':');
        return (colon > slash ? name[..colon] : name) + ":" + MissingTag;
    }

    public async Task<DemoReportView> RunAsync(StateLock stateLock, CancellationToken cancellationToken)
    {
        var started = env.Time.GetTimestamp();
        long auditEntries = 0;
        selection.Record(state);
        var host = await OrchestratorHost.OpenAsync(state, stateLock, CliSecurity.BuiltIn(env), env.Time, _vmId, selection.Configure, cancellationToken).ConfigureAwait(false);
        string? id = null;
        try
        {
            Say("1/5", $"Deploying {image} as 3 pods (Deployment per revision, PSS restricted) on Kubernetes");
            Say("", $"Everything the demo creates carries the label {WorkloadLabels.Owner}={_vmId}.");
            id = await host.Vm.DeployAsync(Spec(image, "1"), cancellationToken).ConfigureAwait(false);
            var v1 = await host.Vm.WaitUntilSettledAsync(id, cancellationToken).ConfigureAwait(false);
            Check("v1 runs 3 ready pods", v1.State == DeploymentState.Running && Ready(v1, 1) == 3, $"{v1.State}, {Ready(v1, 1)} ready of revision 1: {v1.Message}");

            Say("2/5", "Canary to v2 (APP_VERSION=2): 33%, 66%, then 100%");
            await host.Vm.UpdateAsync(id, Spec(image, "2"), cancellationToken).ConfigureAwait(false);
            var v2 = await host.Vm.WaitUntilSettledAsync(id, cancellationToken).ConfigureAwait(false);
            Check("the canary of v2 is promoted", v2 is { State: DeploymentState.Running, StableRevision: 2 } && Ready(v2, 2) == 3 && Instances(v2, 1) == 0, $"{v2.State}, stable revision {v2.StableRevision}, {Ready(v2, 2)} ready of revision 2, {Instances(v2, 1)} of revision 1 left");
            Say("", selection.Gateway is null ? "No Gateway: the weights were approximated by replica counts (status says so)." : $"Weights were set on HTTPRoutes attached to {selection.Gateway}.");

            Say("3/5", $"Canary to v3 with an image that does not exist ({MissingImage(image)}): it must fail and be rolled back");
            await host.Vm.UpdateAsync(id, Spec(MissingImage(image), "3"), cancellationToken).ConfigureAwait(false);
            var v3 = await host.Vm.WaitUntilSettledAsync(id, cancellationToken).ConfigureAwait(false);
            Check("the canary of v3 fails with the pod's reason and is rolled back", v3 is { State: DeploymentState.RolledBack, StableRevision: 2 } && Instances(v3, 3) == 0 && (v3.Message ?? "").Contains("Image", StringComparison.OrdinalIgnoreCase), $"{v3.State}, stable revision {v3.StableRevision}: {v3.Message}");
            Check("v2 keeps serving after the rollback", Ready(v3, 2) == 3, $"{Ready(v3, 2)} ready of revision 2");

            Say("4/5", "Verifying the audit trail (hash chain, Merkle root, signed checkpoints)");
            await host.AuditStore.CreateCheckpointAsync(cancellationToken).ConfigureAwait(false);
            var verification = await AuditVerifier.VerifyAsync(host.AuditStore, new CheckpointVerifier(state.ReadVerifierKeys(), StateDirectory.AuditOrigin), cancellationToken).ConfigureAwait(false);
            auditEntries = verification.EntriesVerified;
            Check("the audit trail verifies", verification.IsValid && verification.SignaturesChecked && verification.EntriesVerified > 0, verification.ToString());

            Say("5/5", "Destroying the deployment");
            await host.Vm.DestroyAsync(id, cancellationToken: cancellationToken).ConfigureAwait(false);
            await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Destroyed, cancellationToken).ConfigureAwait(false);
            var left = (await host.WorkloadRuntime.ListOwnedAsync(cancellationToken).ConfigureAwait(false)).Where(i => i.OwnerId == _vmId).ToList();
            Check("no pod of the demo is left", left.Count == 0, left.Count == 0 ? "every Deployment, Service, Secret and pod removed" : string.Join(", ", left.Select(i => i.InstanceId)));
        }
        finally
        {
            try
            {
                if (id is not null)
                {
                    // Whatever happened (failure, Ctrl+C): nothing of the demo stays in the cluster.
                    await host.WorkloadRuntime.RemoveDeploymentAsync(id, CancellationToken.None).ConfigureAwait(false);
                }
            }
            finally
            {
                await host.DisposeAsync().ConfigureAwait(false);
            }
        }

        return new DemoReportView
        {
            Passed = _checks.Count > 0 && _checks.All(c => c.Passed),
            Seconds = Math.Round(env.Time.GetElapsedTime(started).TotalSeconds, 1),
            Checks = _checks,
            AuditEntries = auditEntries,
            Runtime = RuntimeSelection.Kubernetes,
            Owner = _vmId,
            Image = image,
        };
    }

    private static DeploymentSpec Spec(string image, string version) => new()
    {
        Name = "sample",
        AppId = "demo",
        Environment = "demo",
        Strategy = new CanaryStrategySpec { Steps = [new CanaryStep.SetWeight(33), new CanaryStep.SetWeight(66)] },
        Validation = new ValidationSettings { HealthValidation = false, PollInterval = TimeSpan.FromMilliseconds(250), ProgressDeadline = TimeSpan.FromMinutes(5) },
        Components =
        [
            new ComponentSpec
            {
                Id = "web",
                Image = image,
                Replicas = 3,
                Resources = new ComponentResources { CpuCores = 0.1, MemoryMb = 64 },
                Ports = [new PortSpec { ContainerPort = 8080 }],
                Environment = new Dictionary<string, string> { ["APP_VERSION"] = version },
            },
        ],
    };

    private static int Ready(DeploymentStatus status, int revision)
        => status.Components.SelectMany(c => c.Instances).Where(i => i.Revision == revision).Sum(i => i.Running);

    private static int Instances(DeploymentStatus status, int revision)
        => status.Components.SelectMany(c => c.Instances).Where(i => i.Revision == revision).Sum(i => i.Total);

    private void Check(string name, bool passed, string detail)
    {
        _checks.Add(new DemoCheckView(name, passed, detail));
        var writer = json ? env.Error : env.Output;
        if (env.Interactive && !json)
        {
            env.Console.MarkupLine($"{(passed ? "[green]✔[/]" : "[red]✘[/]")} {Markup.Escape(name)} [grey]({Markup.Escape(detail)})[/]");
        }
        else
        {
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{(passed ? "ok  " : "FAIL")} {name} ({detail})"));
            writer.Flush();
        }
    }

    private void Say(string step, string text)
    {
        var writer = json ? env.Error : env.Output;
        writer.WriteLine(step.Length > 0 ? $"==> {step} {text}" : "    " + text);
        writer.Flush();
    }
}
