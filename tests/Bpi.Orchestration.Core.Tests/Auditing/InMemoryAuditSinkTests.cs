using Bpi.Orchestration.Auditing;
using Xunit;

namespace Bpi.Orchestration.Tests.Auditing;

public sealed class InMemoryAuditSinkTests
{
    [Fact]
    public async Task It_keeps_the_last_events_oldest_first_and_counts_every_append()
    {
        var sink = new InMemoryAuditSink(capacity: 3);
        var at = DateTimeOffset.UnixEpoch;
        for (var i = 0; i < 5; i++)
        {
            await sink.AppendAsync(new AuditEvent(at.AddSeconds(i), "alice", "deployment.deploy", $"web-{i}", "accepted", new Dictionary<string, string?> { ["n"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) }));
        }

        var kept = sink.Snapshot();

        Assert.Equal(["web-2", "web-3", "web-4"], kept.Select(e => e.Target));
        Assert.Equal(at.AddSeconds(4), kept[^1].Timestamp);
        Assert.Equal("4", kept[^1].Data!["n"]);
        Assert.Equal(5, sink.TotalAppended);
        Assert.Equal(3, sink.Capacity);
    }

    [Fact]
    public async Task Before_it_is_full_the_snapshot_holds_exactly_what_was_appended()
    {
        var sink = new InMemoryAuditSink(capacity: 10);
        await sink.AppendAsync(new AuditEvent(DateTimeOffset.UnixEpoch, "system", "deployment.state", "web-1", "queued"));
        await sink.AppendAsync(new AuditEvent(DateTimeOffset.UnixEpoch, "system", "deployment.state", "web-1", "deploying"));

        Assert.Equal(["queued", "deploying"], sink.Snapshot().Select(e => e.Outcome));
        Assert.Empty(new InMemoryAuditSink().Snapshot());
    }

    [Fact]
    public void Engine_audit_details_read_like_a_dictionary()
    {
        IReadOnlyDictionary<string, string?> data = new AuditData([new("plan", "Rollout"), new("step", null)]);

        Assert.Equal(2, data.Count);
        Assert.Equal("Rollout", data["plan"]);
        Assert.True(data.ContainsKey("step"));
        Assert.True(data.TryGetValue("step", out var step));
        Assert.Null(step);
        Assert.False(data.TryGetValue("missing", out _));
        Assert.Throws<KeyNotFoundException>(() => data["missing"]);
        Assert.Equal(["plan", "step"], data.Keys);
        Assert.Equal(["plan", "step"], data.Select(p => p.Key));
    }
}
