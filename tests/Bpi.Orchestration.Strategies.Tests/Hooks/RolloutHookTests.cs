using Bpi.Orchestration.Strategies.Hooks;
using Bpi.Orchestration.Strategies.Rolling;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Hooks;

public sealed class RolloutHookTests
{
    [Fact]
    public async Task Pre_and_post_rollout_delegate_hooks_run_around_the_rollout_with_its_details()
    {
        var calls = new List<RolloutHookContext>();
        await using var host = new TestHost(extra: b => b
            .AddRolloutHook("migrate", (c, _) => { calls.Add(c); return ValueTask.CompletedTask; })
            .AddRolloutHook("announce", (c, _) => { calls.Add(c); return ValueTask.CompletedTask; }));
        var strategy = new RollingStrategySpec { Hooks = new RolloutHooks { PreRollout = [new HookSpec { Name = "migrate" }], PostRollout = [new HookSpec { Name = "announce" }] } };
        var id = await host.Vm.DeployAsync(Specs.Web(2, "web:1", strategy));
        await host.SettleAsync(id);

        using (OrchestrationActor.BeginScope(new OrchestrationActor { Id = "dana" }))
        {
            await host.Vm.UpdateAsync(id, Specs.Web(2, "web:2", strategy));
        }

        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal([HookPhase.PreRollout, HookPhase.PostRollout, HookPhase.PreRollout, HookPhase.PostRollout], calls.Select(c => c.Phase));
        Assert.Equal((1, 2, "dana"), (calls[2].FromRevision, calls[2].ToRevision, calls[2].RequestedBy));
        Assert.Equal(4, host.Audit.Snapshot().Count(e => e.Action == "rollout.hook" && e.Outcome == "succeeded"));
    }

    [Fact]
    public async Task A_failing_pre_rollout_hook_fails_the_rollout_and_the_on_abort_hook_runs_in_the_rollback()
    {
        var aborted = new List<RolloutHookContext>();
        await using var host = new TestHost(extra: b => b
            .AddRolloutHook("migrate", (c, _) => c.ToRevision == 2 ? throw new InvalidOperationException("schema lock held") : ValueTask.CompletedTask)
            .AddRolloutHook("undo-migration", (c, _) => { aborted.Add(c); return ValueTask.CompletedTask; }));
        var strategy = new RollingStrategySpec { Hooks = new RolloutHooks { PreRollout = [new HookSpec { Name = "migrate" }], OnAbort = [new HookSpec { Name = "undo-migration" }] } };
        var id = await host.Vm.DeployAsync(Specs.Web(2, "web:1", strategy));
        await host.SettleAsync(id);

        await host.Vm.UpdateAsync(id, Specs.Web(2, "web:2", strategy));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.Contains("The pre-rollout hook 'migrate' failed: schema lock held", status.Message, StringComparison.Ordinal);
        var hook = Assert.Single(aborted);
        Assert.Equal(HookPhase.OnAbort, hook.Phase);
        Assert.Equal(2, hook.FromRevision);
        Assert.DoesNotContain(host.Runtime.Snapshot(), i => i.Revision == 2);
    }

    [Fact]
    public async Task A_webhook_hook_posts_the_rollout_as_json_and_a_failing_post_hook_does_not_fail_the_rollout()
    {
        using var server = new LoopbackHttpServer((request, _) => (request.Url!.AbsolutePath == "/fail" ? 500 : 200, ""));
        await using var host = new TestHost();
        var strategy = new RollingStrategySpec
        {
            Hooks = new RolloutHooks
            {
                PreRollout = [new HookSpec { Name = "notify", Url = server.Url }],
                PostRollout = [new HookSpec { Name = "flaky", Url = new Uri(server.Url, "/fail") }],
            },
        };

        var id = await host.Vm.DeployAsync(Specs.Web(1, "web:1", strategy));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Contains("\"phase\":\"pre-rollout\"", server.Bodies[0], StringComparison.Ordinal);
        Assert.Contains($"\"deploymentId\":\"{id}\"", server.Bodies[0], StringComparison.Ordinal);
        Assert.Equal(3, server.Paths.Count(p => p == "/fail")); // the first call and two retries
        Assert.Contains(host.Audit.Snapshot(), e => e.Action == "rollout.hook" && e.Outcome == "failed" && e.Data!["hook"] == "flaky");
    }

    [Fact]
    public async Task A_hook_without_a_url_or_registration_is_reported_by_name()
    {
        await using var host = new TestHost();
        var strategy = new RollingStrategySpec { Hooks = new RolloutHooks { PreRollout = [new HookSpec { Name = "missing" }] } };

        var id = await host.Vm.DeployAsync(Specs.Web(1, "web:1", strategy));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Failed, status.State);
        Assert.Contains("AddRolloutHook(\"missing\"", status.Message, StringComparison.Ordinal);
    }
}
