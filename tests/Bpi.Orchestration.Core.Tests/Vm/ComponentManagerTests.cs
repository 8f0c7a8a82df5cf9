using System.Text;
using Bpi.Orchestration.Hardening;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.State;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Tests.Vm;

/// <summary>
/// Each deployment type selects its component manager: a type without one is refused with what to add, a manager's
/// refusal is listed with every other problem, DockLockContainer (Core's own) is enforced on container runtimes and
/// recorded as not applying elsewhere, and HybridInfrastructure asks each component's manager.
/// </summary>
public sealed class ComponentManagerTests
{
    [Fact]
    public async Task The_default_type_deploys_on_the_in_memory_runtime_and_the_audit_entry_notes_that_no_hardening_applies()
    {
        await using var host = new TestHost();

        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 2));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Running, status.State);
        var accepted = Assert.Single(host.Audit.Snapshot(), e => e.Action == "deployment.deploy" && e.Outcome == "accepted");
        Assert.NotNull(accepted.Data);
        Assert.Contains("the 'in-memory' runtime runs no containers, so no DockLock hardening applies to web", accepted.Data["notes"], StringComparison.Ordinal);
    }

    [Fact]
    public void DockLock_on_a_container_runtime_refuses_settings_the_runtime_would_refuse_at_container_start()
    {
        var spec = Specs.Web() with
        {
            Components = [Specs.Web().Components[0] with { RuntimeSettings = new Dictionary<string, string> { ["docklock.readOnlyRootFilesystem"] = "false", ["docklock.bogus"] = "1" } }],
        };

        var onDocker = new DockLockComponentManager(WorkloadInspection.DockerEngine, new DockLockDefaults()).Check(spec);
        var onKubernetes = new DockLockComponentManager(WorkloadInspection.KubernetesEngine, null).Check(spec);
        var onProcesses = new DockLockComponentManager("process", null);

        Assert.Contains(onDocker, e => e.StartsWith("components[0] (web): RuntimeSettings['docklock.bogus'] is not a DockLock setting", StringComparison.Ordinal));
        Assert.Contains(onDocker, e => e.StartsWith("components[0] (web): RuntimeSettings['docklock.readOnlyRootFilesystem'] = 'false' relaxes a DockLock default and needs a reason", StringComparison.Ordinal));
        Assert.Equal(onDocker, onKubernetes);
        Assert.Empty(onProcesses.Check(spec));
        Assert.Contains("the 'process' runtime runs no containers", Assert.Single(onProcesses.Notes(spec)), StringComparison.Ordinal);
        Assert.Empty(new DockLockComponentManager(WorkloadInspection.DockerEngine, null).Notes(spec));
        Assert.Empty(new DockLockComponentManager(WorkloadInspection.DockerEngine, null).Check(Specs.Web()));
    }

    [Theory]
    [InlineData(DeploymentType.HttpCage, ".AddCueNginx(o => o.DefaultService.HttpCage = new HttpCageOptions())")]
    [InlineData(DeploymentType.CueNginx, ".AddCueNginx()")]
    public async Task A_type_whose_manager_is_not_registered_is_refused_with_what_to_add(DeploymentType type, string advice)
    {
        await using var host = new TestHost();

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.DeployAsync(Specs.Web() with { Type = type }));

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, ex.Kind);
        var error = Assert.Single(ex.Errors);
        Assert.StartsWith($"type: {type} needs its component manager and none is registered", error, StringComparison.Ordinal);
        Assert.Contains(advice, error, StringComparison.Ordinal);
        Assert.Empty(host.Runtime.Snapshot());
    }

    [Fact]
    public async Task A_registered_manager_serves_its_type_and_its_refusal_is_listed()
    {
        var cue = new RecordingManager(DeploymentType.CueNginx);
        await using var host = new TestHost(extra: b => b.Services.AddSingleton<IComponentManager>(cue));

        var id = await host.Vm.DeployAsync(Specs.Web(name: "routed") with { Type = DeploymentType.CueNginx });
        Assert.Equal(DeploymentState.Running, (await host.SettleAsync(id)).State);
        cue.Problem = "type: CueNginx cannot serve this.";
        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.DeployAsync(Specs.Web(name: "refused") with { Type = DeploymentType.CueNginx }));

        Assert.Equal(["web"], cue.Checked[0]);
        Assert.Equal(["type: CueNginx cannot serve this."], ex.Errors);
        var accepted = Assert.Single(host.Audit.Snapshot(), e => e.Action == "deployment.deploy" && e.Outcome == "accepted");
        Assert.False(accepted.Data!.ContainsKey("notes")); // no DockLock component, and the CueNginx manager notes nothing
    }

    [Fact]
    public async Task A_hybrid_deployment_asks_each_component_s_manager_and_runs_every_component()
    {
        var cue = new RecordingManager(DeploymentType.CueNginx);
        var cage = new RecordingManager(DeploymentType.HttpCage);
        await using var host = new TestHost(extra: b =>
        {
            b.Services.AddSingleton<IComponentManager>(cue);
            b.Services.AddSingleton<IComponentManager>(cage);
        });

        var id = await host.Vm.DeployAsync(Hybrid(DeploymentType.CueNginx, DeploymentType.HttpCage, DeploymentType.DockLockContainer));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(["c0"], Assert.Single(cue.Checked));
        Assert.Equal(["c1"], Assert.Single(cage.Checked));
        Assert.Equal(["c0", "c1", "c2"], host.Runtime.Snapshot().Select(i => i.ComponentId).Distinct().Order());
        var accepted = Assert.Single(host.Audit.Snapshot(), e => e.Action == "deployment.deploy" && e.Outcome == "accepted");
        Assert.Contains("no DockLock hardening applies to c2;", accepted.Data!["notes"], StringComparison.Ordinal); // only the DockLock component
    }

    [Fact]
    public async Task A_spec_with_several_type_problems_is_refused_with_every_one_listed()
    {
        await using var host = new TestHost();
        var spec = Hybrid(DeploymentType.HybridInfrastructure, DeploymentType.EncCluster, null, DeploymentType.HttpCage, DeploymentType.CueNginx, DeploymentType.HttpCage, (DeploymentType)42);

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.DeployAsync(spec));

        string[] expected =
        [
            "components[0].type: HybridInfrastructure mixes the types of several components and is not a type of one",
            "components[1].type: EncCluster cannot be one component of a HybridInfrastructure deployment",
            "components[2].type: is required in a HybridInfrastructure deployment",
            "components[3].type, components[5].type: HttpCage needs its component manager and none is registered",
            "components[4].type: CueNginx needs its component manager and none is registered",
            "components[6].type: '42' is not a deployment type",
        ];
        Assert.Equal(expected.Length, ex.Errors.Count);
        foreach (var fragment in expected)
        {
            Assert.Contains(ex.Errors, e => e.StartsWith(fragment, StringComparison.Ordinal));
        }

        Assert.Contains(host.Audit.Snapshot(), e => e.Action == "deployment.deploy" && e.Outcome == "rejected");
    }

    [Fact]
    public void A_hybrid_spec_without_component_types_and_a_component_type_that_contradicts_its_deployment_are_refused()
    {
        var untyped = Hybrid(null, null);
        var contradicting = Specs.Web() with { Components = [Specs.Web().Components[0] with { Type = DeploymentType.CueNginx }] };
        var agreeing = Specs.Web() with { Components = [Specs.Web().Components[0] with { Type = DeploymentType.DockLockContainer }] };

        Assert.Equal(
            ["type: HybridInfrastructure combines the types of its components and no component names one; set each component's type (DockLockContainer, HttpCage or CueNginx), or give the deployment a single type."],
            untyped.Validate());
        Assert.Equal(
            ["components[0].type: CueNginx differs from the deployment's type DockLockContainer; set the deployment's type to HybridInfrastructure to mix types, or remove the component's type."],
            contradicting.Validate());
        Assert.Empty(agreeing.Validate());
        Assert.Equal(DeploymentType.CueNginx, contradicting.TypeOf(contradicting.Components[0]));
        Assert.Equal(DeploymentType.DockLockContainer, Specs.Web().TypeOf(Specs.Web().Components[0]));
    }

    [Fact]
    public void A_stored_record_without_component_types_still_loads_and_a_written_type_round_trips()
    {
        const string Stored = """
            {"id": "web-12345678", "state": "Running", "revisions": [{"number": 1, "spec": {"name": "web", "appId": "shop", "type": "DockLockContainer",
             "components": [{"id": "web", "image": "web:1", "replicas": 2}], "strategy": {"strategy": "recreate"}}}],
             "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z", "createdBy": "x"}
            """;

        var record = DeploymentJson.Deserialize(Encoding.UTF8.GetBytes(Stored));
        var spec = record.CurrentSpec;
        var typed = record with { Revisions = [record.Revisions[0] with { Spec = Hybrid(DeploymentType.CueNginx, null) }] };
        var reread = DeploymentJson.Deserialize(DeploymentJson.Serialize(typed)).CurrentSpec;

        Assert.Null(spec.Components[0].Type);
        Assert.Equal(DeploymentType.DockLockContainer, spec.TypeOf(spec.Components[0]));
        Assert.Empty(spec.Validate());
        Assert.Equal(DeploymentType.CueNginx, reread.Components[0].Type);
        Assert.Null(reread.Components[1].Type);
    }

    /// <summary>A hybrid spec with one component per type given (<see langword="null"/> for none), named c0, c1, …</summary>
    private static DeploymentSpec Hybrid(params DeploymentType?[] types) => Specs.Web(name: "mixed") with
    {
        Type = DeploymentType.HybridInfrastructure,
        Components = [.. types.Select((t, i) => Specs.Web().Components[0] with { Id = "c" + i, Type = t, Replicas = 1 })],
    };

    /// <summary>A manager that records the components of its type it was asked about and refuses with <see cref="Problem"/> when set.</summary>
    private sealed class RecordingManager(DeploymentType type) : IComponentManager
    {
        public DeploymentType Type => type;

        public string? Problem { get; set; }

        public List<string[]> Checked { get; } = [];

        public IReadOnlyList<string> Check(DeploymentSpec spec)
        {
            Checked.Add([.. spec.Components.Where(c => spec.TypeOf(c) == type).Select(c => c.Id)]);
            return Problem is null ? [] : [Problem];
        }
    }
}
