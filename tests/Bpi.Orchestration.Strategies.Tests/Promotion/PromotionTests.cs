using Bpi.Orchestration.Strategies.Promotion;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Promotion;

public sealed class PromotionTests
{
    private static readonly OrchestrationActor Erin = new() { Id = "erin" };
    private static readonly OrchestrationActor Frank = new() { Id = "frank" };

    private static TestHost NewHost(Action<InMemoryRuntimeOptions>? runtime = null) => new(runtime: runtime, extra: b => b.AddPromotion(o => o.Lifecycles.Add(new Lifecycle
    {
        Name = "shop",
        Environments =
        [
            new EnvironmentStage { Name = "dev" },
            new EnvironmentStage { Name = "staging", AutomaticDeployment = true },
            new EnvironmentStage { Name = "production", RequiredApprovals = 1, ApproverMustDifferFromRequester = true },
        ],
    })));

    [Fact]
    public async Task A_release_flows_to_staging_automatically_and_production_waits_for_its_gate_and_records_the_approver()
    {
        await using var host = NewHost();
        var promotions = host.Get<IPromotionService>();
        PromotionRecord dev;
        using (OrchestrationActor.BeginScope(Erin))
        {
            dev = await promotions.CreateReleaseAsync("shop", "1.0", Specs.Web(2, "web:1.0"));
        }

        Assert.Equal(PromotionState.Succeeded, (await host.DriveAsync(promotions.WaitForCompletionAsync(dev.Id, TestHost.Timeout()))).State);
        var staging = promotions.GetHistory("shop", "1.0").Single(p => p.Environment == "staging");
        Assert.Equal(PromotionState.Succeeded, (await host.DriveAsync(promotions.WaitForCompletionAsync(staging.Id, TestHost.Timeout()))).State);
        Assert.DoesNotContain(promotions.GetHistory("shop"), p => p.Environment == "production");

        PromotionRecord production;
        OrchestrationException refused;
        using (OrchestrationActor.BeginScope(Erin))
        {
            production = await promotions.PromoteAsync("shop", "1.0");
            refused = await Assert.ThrowsAsync<OrchestrationException>(() => promotions.ApproveAsync(production.Id));
        }

        var production0 = (await host.Vm.ListAsync(new DeploymentQuery { Environment = "production" })).Deployments;
        using (OrchestrationActor.BeginScope(Frank))
        {
            await promotions.ApproveAsync(production.Id, "change CHG-42 approved");
        }

        var done = await host.DriveAsync(promotions.WaitForCompletionAsync(production.Id, TestHost.Timeout()));

        Assert.Equal(PromotionState.WaitingForApproval, production.State);
        Assert.Equal("production", production.Environment);
        Assert.Empty(production0);
        Assert.Equal(OrchestrationErrorKind.Unauthorized, refused.Kind);
        Assert.Equal(PromotionState.Succeeded, done.State);
        var approval = Assert.Single(done.Approvals);
        Assert.Equal(("frank", "change CHG-42 approved"), (approval.Actor, approval.Comment));
        Assert.Contains(host.Audit.Snapshot(), e => e.Action == "promotion.approve" && e.Actor == "frank" && e.Outcome == "approved");
        var deployed = (await host.Vm.ListAsync(new DeploymentQuery { Environment = "production" })).Deployments.Single();
        Assert.Equal(DeploymentState.Running, deployed.State);
        Assert.Equal(["dev", "staging", "production"], promotions.GetHistory("shop", "1.0").Select(p => p.Environment));
        Assert.All(host.Runtime.Snapshot(), i => Assert.Equal(1, i.Revision));
        Assert.Equal(6, host.Runtime.Snapshot().Count); // the same release in three environments
    }

    [Fact]
    public async Task A_release_cannot_skip_an_environment_that_is_required_to_progress()
    {
        // Instances start only when the clock moves, so release 3.0 (never driven) cannot finish dev and the automatic
        // staging before it asks for production.
        await using var host = NewHost(o => o.StartDelay = TimeSpan.FromSeconds(5));
        var promotions = host.Get<IPromotionService>();
        var dev = await promotions.CreateReleaseAsync("shop", "2.0", Specs.Web(1, "web:2.0"));
        await host.DriveAsync(promotions.WaitForCompletionAsync(dev.Id, TestHost.Timeout()));
        var staging = promotions.GetHistory("shop", "2.0").Single(p => p.Environment == "staging");
        await host.DriveAsync(promotions.WaitForCompletionAsync(staging.Id, TestHost.Timeout()));

        var other = await promotions.CreateReleaseAsync("shop", "3.0", Specs.Web(1, "web:3.0"));
        var refused = await Assert.ThrowsAsync<OrchestrationException>(() => promotions.PromoteAsync("shop", "3.0", "production"));

        Assert.Equal(OrchestrationErrorKind.Conflict, refused.Kind);
        Assert.Contains("must first succeed in", refused.Message, StringComparison.Ordinal);
        Assert.NotNull(other);
    }

    [Fact]
    public async Task A_rejected_promotion_deploys_nothing_and_is_kept_in_the_history()
    {
        await using var host = NewHost();
        var promotions = host.Get<IPromotionService>();
        var dev = await promotions.CreateReleaseAsync("shop", "4.0", Specs.Web(1, "web:4.0"));
        await host.DriveAsync(promotions.WaitForCompletionAsync(dev.Id, TestHost.Timeout()));
        var staging = promotions.GetHistory("shop", "4.0").Single(p => p.Environment == "staging");
        await host.DriveAsync(promotions.WaitForCompletionAsync(staging.Id, TestHost.Timeout()));
        var production = await promotions.PromoteAsync("shop", "4.0");

        using (OrchestrationActor.BeginScope(Frank))
        {
            await promotions.RejectAsync(production.Id, "freeze");
        }

        var record = promotions.GetHistory("shop", "4.0").Single(p => p.Environment == "production");
        Assert.Equal(PromotionState.Rejected, record.State);
        Assert.Equal("rejected by frank: freeze", record.Message);
        Assert.Empty((await host.Vm.ListAsync(new DeploymentQuery { Environment = "production" })).Deployments);
    }
}
