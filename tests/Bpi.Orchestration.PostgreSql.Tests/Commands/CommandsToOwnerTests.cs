using System.Threading.Channels;
using Bpi.Orchestration.Ownership;
using Bpi.Orchestration.Strategies;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Bpi.Orchestration.PostgreSql.Tests.Commands;

/// <summary>
/// Commands on a deployment received by an instance that does not own it are written to the <c>commands</c> table and run
/// by the owner: two orchestrator instances in this process on one real database, sharing one in-memory runtime.
/// </summary>
public sealed class CommandsToOwnerTests : IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
{
    private readonly PostgresDatabaseFixture _fixture;
    private readonly InMemoryWorkloadRuntime _runtime = new();
    private readonly List<ServiceProvider> _providers = [];

    public CommandsToOwnerTests(PostgresDatabaseFixture fixture) => _fixture = fixture;

    [SkippableFact]
    public async Task Pause_resume_and_promote_sent_to_another_instance_run_on_the_owner_as_the_sender()
    {
        var (a, _) = await InstanceAsync("pause", "a");
        var (b, _) = await InstanceAsync("pause", "b");
        var id = await a.DeployAsync(Spec("web:1"));
        await a.WaitUntilSettledAsync(id, Timeout());
        await a.UpdateAsync(id, Spec("web:2"));
        await a.WaitForStateAsync(id, s => s == DeploymentState.Paused, Timeout()); // waiting for promotion

        using var watching = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var events = a.WatchAsync(id, watching.Token).GetAsyncEnumerator(watching.Token);
        using (OrchestrationActor.BeginScope(new OrchestrationActor { Id = "alice", Roles = ["operator"] }))
        {
            await b.PauseAsync(id, Timeout());
        }

        // Run by the owner, as the sender: its control is paused and its event names alice.
        var paused = await Eventually.FirstAsync(events, e => e.Kind == DeploymentEventKind.Intervention);
        Assert.Equal("paused by alice", paused.Message);

        await b.ResumeAsync(id, Timeout());
        await b.PromoteAsync(id, Timeout());
        var status = await a.WaitUntilSettledAsync(id, Timeout());
        await events.DisposeAsync();
        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(2, status.StableRevision);

        // The owner's error comes back to the sender as it was raised: nothing is waiting at a pause any more.
        var error = await Assert.ThrowsAsync<OrchestrationException>(() => b.PromoteAsync(id, Timeout()));
        Assert.Equal(OrchestrationErrorKind.Conflict, error.Kind);
        Assert.Contains("nothing to promote", error.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_command_sent_again_with_its_idempotency_key_runs_once()
    {
        var (a, _) = await InstanceAsync("idempotent", "a");
        var (_, ownershipB) = await InstanceAsync("idempotent", "b");
        var id = await a.DeployAsync(Spec("web:1"));
        await a.WaitUntilSettledAsync(id, Timeout());
        await a.UpdateAsync(id, Spec("web:2"));
        await a.WaitForStateAsync(id, s => s == DeploymentState.Paused, Timeout());

        var promote = new DeploymentCommand { DeploymentId = id, Verb = "promote", Actor = new OrchestrationActor { Id = "bob" } };
        await ownershipB.SendToOwnerAsync(promote, Timeout());
        await a.WaitUntilSettledAsync(id, Timeout());

        // Run a second time, a promote would fail (nothing waits at a pause now): the retry gets the first outcome.
        await ownershipB.SendToOwnerAsync(promote, Timeout());
        Assert.Equal(1L, await ScalarAsync("idempotent", $"SELECT count(*) FROM idempotent.commands WHERE idempotency_key = '{promote.IdempotencyKey}'"));
        Assert.Equal("ok", await ScalarAsync("idempotent", $"SELECT outcome FROM idempotent.commands WHERE idempotency_key = '{promote.IdempotencyKey}'"));
    }

    [SkippableFact]
    public async Task A_command_for_a_dead_owner_is_run_by_the_instance_that_takes_the_deployment_over()
    {
        var (a, ownershipA) = await InstanceAsync("takeover", "a", lease: TimeSpan.FromSeconds(2));
        var (b, _) = await InstanceAsync("takeover", "b", lease: TimeSpan.FromSeconds(2));
        var id = await a.DeployAsync(Spec("web:1"));
        await a.WaitUntilSettledAsync(id, Timeout());

        // A dies: its ownership stops renewing (nothing released), so B takes the deployment once the lease expires.
        await ownershipA.DisposeAsync();
        await b.ScaleAsync(id, 3, cancellationToken: Timeout());

        var status = await b.WaitUntilSettledAsync(id, Timeout());
        Assert.Equal(3, Assert.Single(status.Components).DesiredReplicas);
        Assert.Equal(3, _runtime.Snapshot().Count(i => i.DeploymentId == id));
        Assert.Equal("takeover-b", await ScalarAsync("takeover", "SELECT claimed_by FROM takeover.commands WHERE verb = 'scale'"));
    }

    [SkippableFact]
    public async Task A_command_nobody_runs_times_out_with_a_clear_error()
    {
        var (a, ownershipA) = await InstanceAsync("timeout", "a", commandTimeout: TimeSpan.FromSeconds(1));
        var (b, _) = await InstanceAsync("timeout", "b", commandTimeout: TimeSpan.FromSeconds(1));
        var id = await a.DeployAsync(Spec("web:1"));
        await a.WaitUntilSettledAsync(id, Timeout());
        await ownershipA.DisposeAsync(); // dead, its 15 s lease not yet expired

        var error = await Assert.ThrowsAsync<OrchestrationException>(() => b.PauseAsync(id, Timeout()));

        Assert.Equal(OrchestrationErrorKind.Timeout, error.Kind);
        Assert.Contains("No orchestrator instance ran the pause command", error.Message, StringComparison.Ordinal);
        Assert.Contains("stays queued", error.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_command_on_an_unknown_deployment_is_refused_at_once()
    {
        var (_, _) = await InstanceAsync("unknown", "a");
        var (b, _) = await InstanceAsync("unknown", "b");

        var error = await Assert.ThrowsAsync<OrchestrationException>(() => b.PauseAsync("web-0000dead", Timeout()));

        Assert.Equal(OrchestrationErrorKind.NotFound, error.Kind);
    }

    [SkippableFact]
    public async Task Stopping_does_not_hang_on_a_notification_wait_that_missed_its_cancellation()
    {
        // Npgsql can miss a cancellation that arrives just as a wait for notifications begins; such a wait then lasts
        // until the next notification. CI once hung 10 minutes in a VM's dispose on exactly that. Here the wait ignores
        // its token, as a missed cancellation does, and ends only when its bounded time is up.
        var waits = Channel.CreateUnbounded<(TimeSpan Timeout, TaskCompletionSource<bool> Wait)>();
        var (vm, _) = await InstanceAsync("stopping", "a", beforeStart: ownership => ownership.WaitForNotificationAsync = (_, timeout, _) =>
        {
            var wait = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            waits.Writer.TryWrite((timeout, wait));
            return wait.Task;
        });
        var (bound, first) = await waits.Reader.ReadAsync(Timeout());
        Assert.Equal(PostgreSqlOwnership.ListenCheckInterval, bound); // every wait is bounded

        var stopping = vm.StopAsync(Timeout());
        Assert.False(stopping.IsCompleted); // the listener is still in its wait, which did not see the cancellation

        first.SetResult(false); // the wait's time is up, no notification came
        await stopping.WaitAsync(Timeout());
        Assert.False(waits.Reader.TryRead(out _)); // and no further wait began after the stop
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        _runtime.Dispose();
    }

    private async Task<(IOrchestrationVm Vm, PostgreSqlOwnership Ownership)> InstanceAsync(string schema, string name, TimeSpan? lease = null, TimeSpan? commandTimeout = null, Action<PostgreSqlOwnership>? beforeStart = null)
    {
        var connectionString = await _fixture.GetConnectionStringAsync("commands");
        var services = new ServiceCollection();
        services.AddSingleton(_runtime);
        services.AddOrchestration(o =>
            {
                o.VmId = "commands";
                o.RemoveOrphansOnStart = false;
            })
            .AddStrategies()
            .AddInMemoryRuntime()
            .AddPostgreSqlState(connectionString, o =>
            {
                o.Schema = schema;
                o.InstanceId = schema + "-" + name;
                if (lease is { } duration)
                {
                    o.LeaseDuration = duration;
                    o.LeaseRenewInterval = duration / 4;
                    o.LeaseSafetyMargin = duration / 4;
                    o.PollInterval = duration / 4;
                }

                o.CommandTimeout = commandTimeout ?? TimeSpan.FromSeconds(30);
            });
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var ownership = provider.GetRequiredService<PostgreSqlOwnership>();
        beforeStart?.Invoke(ownership);
        await vm.StartAsync(Timeout());
        return (vm, ownership);
    }

    private async Task<object?> ScalarAsync(string label, string sql)
    {
        await using var connection = new NpgsqlConnection(await _fixture.GetConnectionStringAsync("commands"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    private static DeploymentSpec Spec(string image) => Records.Spec(image) with
    {
        Strategy = new CanaryStrategySpec { Steps = [new CanaryStep.SetWeight(50), new CanaryStep.Pause(null)] },
    };

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;
}
