using System.Text.Json;
using Bpi.Orchestration.Auditing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Audit.Tests.DependencyInjection;

public sealed class AuditDependencyInjectionTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private sealed class Builder(IServiceCollection services) : IOrchestrationBuilder
    {
        public IServiceCollection Services { get; } = services;
    }

    private sealed class OtherSink : IAuditSink
    {
        public ValueTask AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task AddFileAuditStore_replaces_the_sink_and_appends_every_event_with_its_actor_and_data()
    {
        using var signer = CheckpointSigner.Generate("tests.example/key");
        var services = new ServiceCollection();
        services.AddSingleton<IAuditSink, OtherSink>();
        new Builder(services).AddFileAuditStore(_dir.Path, o => o.CheckpointSigners.Add(signer));
        await using (var provider = services.BuildServiceProvider())
        {
            var sink = provider.GetRequiredService<IAuditSink>();
            Assert.IsNotType<OtherSink>(sink);
            Assert.Single(provider.GetServices<IAuditSink>());
            var timestamp = new DateTimeOffset(2025, 5, 6, 7, 8, 9, TimeSpan.Zero);
            await sink.AppendAsync(new AuditEvent(timestamp, "alice", "deployment.create", "web", "succeeded", new Dictionary<string, string?> { ["zeta"] = "1", ["alpha"] = null, ["mid"] = "ü" }));
            await sink.AppendAsync(new AuditEvent(timestamp, "system", "rollout.step.completed", "web", "succeeded"));

            var store = provider.GetRequiredService<FileAuditStore>();
            Assert.Same(store, provider.GetRequiredService<IAuditStore>());
            var entries = await TestLog.ReadAllAsync(store);
            Assert.Equal(2, entries.Count);
            Assert.Equal(("alice", "deployment.create", "web", "succeeded", timestamp), (entries[0].Actor, entries[0].Action, entries[0].Target, entries[0].Outcome, entries[0].Timestamp));
            Assert.Equal("{\"alpha\":null,\"mid\":\"\\u00FC\",\"zeta\":\"1\"}", entries[0].GetPayloadJson());
            Assert.Equal("1", JsonDocument.Parse(entries[0].Payload).RootElement.GetProperty("zeta").GetString());
            Assert.Equal(0, entries[1].Payload.Length);
        }

        // Disposing the container closed the store (and signed a final checkpoint).
        var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, new CheckpointVerifier([signer.VerifierKey]));
        Assert.True(result.IsValid, result.Message);
        Assert.Equal(2, result.LatestCheckpoint!.TreeSize);
    }

    [Fact]
    public async Task AddInMemoryAuditStore_registers_the_in_memory_store_as_the_sink()
    {
        var services = new ServiceCollection();
        new Builder(services).AddInMemoryAuditStore();
        await using var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<IAuditSink>().AppendAsync(new AuditEvent(DateTimeOffset.UnixEpoch, "bob", "deployment.delete", "api", "denied"));
        var store = provider.GetRequiredService<InMemoryAuditStore>();
        Assert.Same(store, provider.GetRequiredService<IAuditStore>());
        Assert.Equal("bob", (await store.GetEntryAsync(0)).Actor);
    }

    [Fact]
    public async Task Invalid_file_store_options_fail_through_the_options_pipeline_listing_every_problem()
    {
        var services = new ServiceCollection();
        new Builder(services).AddFileAuditStore(_dir.Path, o =>
        {
            o.SegmentSize = 1;
            o.Origin = "";
        });
        await using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IAuditSink>());
        Assert.Equal(2, error.Failures.Count());
    }
}
