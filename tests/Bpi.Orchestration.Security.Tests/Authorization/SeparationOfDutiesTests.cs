using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Security.Authorization;
using Bpi.Orchestration.Strategies.Canary;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Security.Tests.Authorization;

public sealed class SeparationOfDutiesTests
{
    private static readonly OrchestrationActor Dana = new() { Id = "dana", Roles = ["developer"] };
    private static readonly OrchestrationActor Paul = new() { Id = "paul", Roles = ["approver"] };

    [Fact]
    public async Task The_requester_of_a_deployment_may_not_approve_its_gate_but_another_approver_may()
    {
        await using var host = new SecurityTestHost(
            authorization: o => o.PolicyTexts.Add("""
                [devs] allow role:developer deploy,update,read staging *
                [four-eyes] allow role:developer,role:approver approve staging * when approver!=requester
                """),
            extra: b => b.AddStrategies());
        var canary = new CanaryStrategySpec { Steps = [new CanaryStep.SetWeight(50), new CanaryStep.Approval(new ApprovalGate { Name = "prod" })] };
        // No HTTP health check: the Strategies probes would probe the in-memory instances, which serve nothing.
        var v1 = TestSpecs.Hardened().WithComponent(c => c with { HealthCheck = null }) with { Strategy = canary };
        string id;
        using (OrchestrationActor.BeginScope(Dana))
        {
            id = (await host.DeployAndSettleAsync(v1)).Id;
            var v2 = v1.WithComponent(c => c with { Image = "registry.example.com/shop/web:1.4.3@sha256:" + new string('f', 64) });
            await host.Vm.UpdateAsync(id, v2);
            var paused = await host.DriveAsync(host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Paused || s.IsSettled(), new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token));
            Assert.True(paused.State == DeploymentState.Paused, $"{paused.State}: {paused.Message}");

            var refused = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.ApproveAsync(id, "prod"));
            Assert.Equal(OrchestrationErrorKind.Unauthorized, refused.Kind);
            Assert.Contains("approver!=requester", refused.Message, StringComparison.Ordinal);
        }

        using (OrchestrationActor.BeginScope(Paul))
        {
            await host.Vm.ApproveAsync(id, "prod", "looked at the canary");
        }

        using (OrchestrationActor.BeginScope(Dana))
        {
            var status = await host.DriveAsync(host.Vm.WaitForStateAsync(id, s => s.IsSettled(), new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token));
            Assert.Equal(DeploymentState.Running, status.State);
        }

        var audit = host.Audit.Snapshot();
        Assert.Contains(audit, e => e.Action == "authorization.approve" && e.Actor == "dana" && e.Outcome == "denied" && e.Data!["rule"] == AuthorizationPolicy.DefaultDenyRule);
        Assert.Contains(audit, e => e.Action == "authorization.approve" && e.Actor == "paul" && e.Outcome == "allowed" && e.Data!["rule"] == "four-eyes");
    }
}
