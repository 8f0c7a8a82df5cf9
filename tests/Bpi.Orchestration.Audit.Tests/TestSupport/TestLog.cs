using System.Text;

namespace Bpi.Orchestration.Audit.Tests;

internal static class TestLog
{
    public const string Origin = "tests.example/audit";

    public static NewAuditEntry Entry(int n, int payloadBytes = 64) => new()
    {
        Actor = $"user-{n % 5}",
        Action = n % 2 == 0 ? "deployment.create" : "rollout.step.completed",
        Target = $"deployment-{n % 11}",
        Outcome = "succeeded",
        Timestamp = DateTimeOffset.UnixEpoch.AddSeconds(1_700_000_000 + n),
        Payload = Payload(n, payloadBytes),
    };

    public static byte[] Payload(int n, int size)
    {
        var prefix = $"{{\"n\":{n},\"pad\":\"";
        var padding = Math.Max(0, size - prefix.Length - 2);
        return Encoding.UTF8.GetBytes(prefix + new string((char)('a' + (n % 26)), padding) + "\"}");
    }

    public static FileAuditStoreOptions FileOptions(string path, CheckpointSigner? signer = null, Action<FileAuditStoreOptions>? configure = null)
    {
        var options = new FileAuditStoreOptions { Path = path, Origin = Origin, CheckpointInterval = TimeSpan.Zero, CheckpointEveryEntries = 0 };
        if (signer is not null)
        {
            options.CheckpointSigners.Add(signer);
        }

        configure?.Invoke(options);
        return options;
    }

    public static async Task<List<AuditAppendReceipt>> AppendManyAsync(IAuditStore store, int count, int start = 0, int payloadBytes = 64)
    {
        var receipts = new List<AuditAppendReceipt>(count);
        for (var i = 0; i < count; i++)
        {
            receipts.Add(await store.AppendAsync(Entry(start + i, payloadBytes)));
        }

        return receipts;
    }

    public static async Task<List<AuditEntry>> ReadAllAsync(IAuditStore store)
    {
        var entries = new List<AuditEntry>();
        await foreach (var entry in store.ReadAsync())
        {
            entries.Add(entry);
        }

        return entries;
    }
}
