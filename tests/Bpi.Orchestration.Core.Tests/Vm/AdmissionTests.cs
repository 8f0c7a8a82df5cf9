using Bpi.Orchestration.Auditing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Tests.Vm;

public sealed class AdmissionTests
{
    [Fact]
    public async Task An_invalid_spec_is_rejected_with_every_problem_listed()
    {
        await using var host = new TestHost();
        var spec = new DeploymentSpec
        {
            Name = "Bad Name",
            AppId = "",
            Environment = "staging",
            Components =
            [
                new ComponentSpec { Id = "api", Replicas = -1, DependsOn = ["cache", "api"], Resources = new ComponentResources { CpuCores = 0, MemoryMb = 1 } },
                new ComponentSpec { Id = "api", Image = "x:1", HealthCheck = new HealthCheckSpec { Period = TimeSpan.Zero, FailureThreshold = 0 } },
                new ComponentSpec { Id = "a", Image = "a:1", DependsOn = ["b"] },
                new ComponentSpec { Id = "b", Image = "b:1", DependsOn = ["a"] },
            ],
            Infrastructure = new InfrastructureConfig
            {
                Network = new NetworkConfig { VpcCidr = "10.0.0.0/16", SubnetCidrs = ["10.1.0.0/24", "10.0.0.0/24", "10.0.0.0/25", "banana"] },
                Resources = new ResourceRequirements { CpuCores = -1 },
            },
        };

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.DeployAsync(spec));

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, ex.Kind);
        string[] expected =
        [
            "name: 'Bad Name'",
            "appId: is required",
            "components[1] (api).id: 'api' is used by more than one component",
            "components[0] (api): set an image or a command",
            "components[0] (api).replicas: -1 is out of range",
            "components[0] (api).resources.cpuCores",
            "components[0] (api).resources.memoryMb",
            "components[1] (api).healthCheck.period",
            "components[1] (api).healthCheck.failureThreshold",
            "components[1] (api).healthCheck.port",
            "dependsOn: 'cache' is not a component",
            "dependsOn: a component cannot depend on itself",
            "dependency cycle a -> b -> a",
            "subnetCidrs[0]: '10.1.0.0/24' is not inside the VPC",
            "subnetCidrs[2]: '10.0.0.0/25' overlaps subnetCidrs[1]",
            "subnetCidrs[3]: 'banana' is not a CIDR block",
            "infrastructure.resources.cpuCores",
        ];
        foreach (var fragment in expected)
        {
            Assert.Contains(ex.Errors, e => e.Contains(fragment, StringComparison.Ordinal));
        }

        Assert.Equal(ex.Errors.Count, ex.Errors.Distinct().Count());
        Assert.Contains(ex.Errors.Count + " problems", ex.Message, StringComparison.Ordinal);
        Assert.Empty(host.Runtime.Snapshot());
        Assert.Contains(host.Audit.Snapshot(), e => e.Action == "deployment.deploy" && e.Outcome == "rejected");
    }

    [Fact]
    public async Task A_deployment_that_does_not_fit_capacity_gets_InsufficientResources_and_reserves_nothing()
    {
        await using var host = new TestHost(o => o.Capacity = new ResourceRequirements { CpuCores = 2, MemoryMb = 1024 });
        var first = await host.Vm.DeployAsync(Specs.Web(replicas: 2, name: "first"));
        await host.SettleAsync(first);
        var before = host.Ledger.Allocated;

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.DeployAsync(Specs.Web(replicas: 3, name: "second")));

        Assert.Equal(OrchestrationErrorKind.InsufficientResources, ex.Kind);
        Assert.Contains(ex.Errors, e => e.StartsWith("CPU: requested 1.5 cores, 1 cores free of 2 cores", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("memory: requested 768 MB, 512 MB free", StringComparison.Ordinal));
        Assert.Equal(before, host.Ledger.Allocated);
        Assert.Equal(1, host.Ledger.Count);
        Assert.Single((await host.Vm.ListAsync()).Deployments);
    }

    [Fact]
    public async Task Scaling_beyond_capacity_is_refused_and_keeps_the_reservation()
    {
        await using var host = new TestHost(o => o.Capacity = new ResourceRequirements { CpuCores = 2, MemoryMb = 4096 });
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 2));
        await host.SettleAsync(id);

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.ScaleAsync(id, 10));

        Assert.Equal(OrchestrationErrorKind.InsufficientResources, ex.Kind);
        Assert.Equal(1.0, host.Ledger.Allocated.CpuCores, 6);
        Assert.Equal(DeploymentState.Running, (await host.Vm.GetStatusAsync(id)).State);
    }

    [Fact]
    public void Invalid_options_are_reported_with_every_problem_when_the_orchestrator_is_first_resolved()
    {
        var services = new ServiceCollection();
        services.AddOrchestration(o =>
        {
            o.VmId = "";
            o.MaxConcurrentDeployments = 0;
            o.RuntimeRetryAttempts = -1;
        }).AddInMemoryRuntime();
        using var provider = services.BuildServiceProvider();

        var problems = OptionsProblems.Of(Assert.ThrowsAny<Exception>(() => provider.GetRequiredService<IOrchestrationVm>()), typeof(OrchestrationOptions));

        Assert.Equal(3, problems.Count);
        Assert.Contains(problems, e => e.StartsWith("OrchestrationOptions.VmId: '' is not 1-63 characters; ", StringComparison.Ordinal));
        Assert.Contains(problems, e => e.StartsWith("OrchestrationOptions.MaxConcurrentDeployments: 0 is less than 1; ", StringComparison.Ordinal));
        Assert.Contains(problems, e => e.StartsWith("OrchestrationOptions.RuntimeRetryAttempts: -1 is negative; ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_a_runtime_the_error_says_which_package_to_add()
    {
        var services = new ServiceCollection();
        services.AddOrchestration();
        await using var provider = services.BuildServiceProvider();

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => provider.GetRequiredService<IOrchestrationVm>().StartAsync());

        Assert.Contains(".AddInMemoryRuntime()", ex.Message, StringComparison.Ordinal);
        Assert.Contains(".AddDocker()", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unregistered_strategy_is_an_invalid_configuration_naming_the_registered_ones()
    {
        await using var host = new TestHost();

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.DeployAsync(Specs.Web() with { Strategy = new FakeStrategySpec() }));

        Assert.Contains(ex.Errors, e => e.Contains("no strategy named 'fake' is registered (registered: recreate)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Every_operation_is_audited_with_the_acting_identity()
    {
        await using var host = new TestHost();
        string id;
        using (OrchestrationActor.BeginScope(new OrchestrationActor { Id = "alice", Roles = ["deployer"] }))
        {
            id = await host.Vm.DeployAsync(Specs.Web(replicas: 1));
            await host.SettleAsync(id);
            await host.Vm.ScaleAsync(id, 2);
            await host.SettleAsync(id);
            await host.Vm.DestroyAsync(id);
        }

        var events = host.Audit.Snapshot();
        Assert.Contains(events, e => e is { Action: "deployment.deploy", Actor: "alice", Outcome: "accepted" } && e.Target == id);
        Assert.Contains(events, e => e is { Action: "deployment.scale", Actor: "alice" });
        Assert.Contains(events, e => e is { Action: "deployment.destroy", Actor: "alice" });
        Assert.Contains(events, e => e is { Action: "rollout.step.completed", Actor: "system" });
        Assert.Contains(events, e => e.Action == "deployment.state" && e.Data!["to"] == "Running");
    }

    [Fact]
    public async Task A_denying_authorizer_stops_the_operation_and_the_denial_is_audited()
    {
        await using var host = new TestHost(extra: b => b.Services.AddSingleton<Security.IOrchestrationAuthorizer, DenyDestroy>());
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 1));
        await host.SettleAsync(id);

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.DestroyAsync(id));

        Assert.Equal(OrchestrationErrorKind.Unauthorized, ex.Kind);
        Assert.Contains(host.Audit.Snapshot(), e => e.Action == "authorization.destroy" && e.Outcome == "denied" && e.Data!["rule"] == "no-destroy");
        Assert.Equal(DeploymentState.Running, (await host.Vm.GetStatusAsync(id)).State);
    }

    [Fact]
    public async Task Authorizing_verbs_ahead_refuses_the_first_denied_one_audits_it_and_changes_nothing()
    {
        await using var host = new TestHost(extra: b => b.Services.AddSingleton<Security.IOrchestrationAuthorizer, DenyDestroy>());
        var spec = Specs.Web(replicas: 1);

        await host.Vm.AuthorizeAsync([Security.OrchestrationVerbs.Deploy, Security.OrchestrationVerbs.Read], spec);
        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.AuthorizeAsync([Security.OrchestrationVerbs.Read, Security.OrchestrationVerbs.Destroy], spec));

        Assert.Equal(OrchestrationErrorKind.Unauthorized, ex.Kind);
        Assert.Contains("may not destroy", ex.Message, StringComparison.Ordinal);
        Assert.Contains(host.Audit.Snapshot(), e => e.Action == "authorization.destroy" && e.Outcome == "denied" && e.Data!["rule"] == "no-destroy");
        Assert.Empty((await host.Vm.ListAsync()).Deployments);
        var unknown = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.AuthorizeAsync([Security.OrchestrationVerbs.Read], "web-00000000"));
        Assert.Equal(OrchestrationErrorKind.NotFound, unknown.Kind);
    }

    private sealed record FakeStrategySpec : StrategySpec
    {
        public override string Name => "fake";
    }

    private sealed class DenyDestroy : Security.IOrchestrationAuthorizer
    {
        public ValueTask<Security.AuthorizationDecision> AuthorizeAsync(Security.AuthorizationRequest request, CancellationToken cancellationToken = default)
            => ValueTask.FromResult(request.Verb == Security.OrchestrationVerbs.Destroy
                ? new Security.AuthorizationDecision(false, "no-destroy", "destroying is not allowed in tests")
                : Security.AuthorizationDecision.AllowAll);
    }
}
