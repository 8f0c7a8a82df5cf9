using Bpi.Orchestration.Nginx;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Components.Tests.Nginx;

/// <summary>
/// The managers <c>AddCueNginx()</c> registers for the CueNginx and HttpCage types: what each refuses (every reason at
/// once) and accepts. Nothing here starts nginx: a refused spec never reaches the router, and an accepted one is only
/// checked (the blue-green end-to-end test deploys an HttpCage spec through nginx).
/// </summary>
public sealed class NginxComponentManagerTests
{
    [Fact]
    public async Task CueNginx_and_HttpCage_are_accepted_when_CueNginx_routes_with_HttpCage_on_the_default_service()
    {
        await using var provider = Build(o => o.DefaultService.HttpCage = new HttpCageOptions());
        var managers = provider.GetServices<IComponentManager>().ToDictionary(m => m.Type);

        Assert.Empty(managers[DeploymentType.CueNginx].Check(Spec(DeploymentType.CueNginx)));
        Assert.Empty(managers[DeploymentType.HttpCage].Check(Spec(DeploymentType.HttpCage)));
        Assert.Empty(managers[DeploymentType.HttpCage].Check(Hybrid()));
        Assert.Empty(managers[DeploymentType.CueNginx].Notes(Spec(DeploymentType.CueNginx)));
    }

    [Fact]
    public async Task HttpCage_without_HttpCage_options_is_refused_with_what_to_set_and_CueNginx_is_still_accepted()
    {
        await using var provider = Build(o => o.Services["web-1234abcd/api"] = new NginxServiceOptions());
        var vm = provider.GetRequiredService<IOrchestrationVm>();

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => vm.DeployAsync(Spec(DeploymentType.HttpCage)));
        var cue = provider.GetServices<IComponentManager>().Single(m => m.Type == DeploymentType.CueNginx);

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, ex.Kind);
        Assert.Equal(2, ex.Errors.Count);
        Assert.Contains(ex.Errors, e => e.StartsWith("type: HttpCage puts HTTP protection in front of each service and CueNginxOptions.DefaultService.HttpCage is not set", StringComparison.Ordinal)
            && e.Contains(".AddCueNginx(o => o.DefaultService.HttpCage = new HttpCageOptions", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("components[0] (api): CueNginxOptions.Services['web-1234abcd/api'] has no HttpCage", StringComparison.Ordinal));
        Assert.Empty(cue.Check(Spec(DeploymentType.CueNginx)));
    }

    [Fact]
    public async Task Both_types_are_refused_when_another_router_replaced_CueNginx_and_a_component_has_no_port()
    {
        await using var provider = Build(o => o.DefaultService.HttpCage = new HttpCageOptions(), replaceRouter: true);
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var spec = Hybrid() with { Components = [.. Hybrid().Components.Select(c => c with { Ports = [] })] };

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => vm.DeployAsync(spec));

        string[] expected =
        [
            "type: HttpCage serves components through CueNginx, and the registered traffic router is 'in-process'",
            "type: CueNginx serves components through CueNginx, and the registered traffic router is 'in-process'",
            "components[0] (api).ports: type HttpCage serves the component through nginx",
            "components[1] (admin).ports: type CueNginx serves the component through nginx",
        ];
        Assert.Equal(expected.Length, ex.Errors.Count);
        foreach (var fragment in expected)
        {
            Assert.Contains(ex.Errors, e => e.StartsWith(fragment, StringComparison.Ordinal));
        }
    }

    private static ServiceProvider Build(Action<CueNginxOptions> configure, bool replaceRouter = false)
    {
        var services = new ServiceCollection();
        var builder = services.AddOrchestration(o => o.VmId = "vm-managers-" + Guid.NewGuid().ToString("N")[..8])
            .AddInMemoryRuntime()
            .AddCueNginx(o =>
            {
                o.StateDirectory = NginxTestRouter.NewDirectory(); // never created: nothing here starts nginx
                configure(o);
            });
        if (replaceRouter)
        {
            builder.AddInProcessRouter();
        }

        return services.BuildServiceProvider();
    }

    private static DeploymentSpec Spec(DeploymentType type) => new()
    {
        Name = "web",
        AppId = "shop",
        Type = type,
        Components = [new ComponentSpec { Id = "api", Image = "api:1", Ports = [new PortSpec { ContainerPort = 8080 }] }],
    };

    private static DeploymentSpec Hybrid() => Spec(DeploymentType.HybridInfrastructure) with
    {
        Components =
        [
            Spec(DeploymentType.HttpCage).Components[0] with { Type = DeploymentType.HttpCage },
            Spec(DeploymentType.CueNginx).Components[0] with { Id = "admin", Type = DeploymentType.CueNginx },
            Spec(DeploymentType.CueNginx).Components[0] with { Id = "worker", Type = DeploymentType.DockLockContainer },
        ],
    };
}
