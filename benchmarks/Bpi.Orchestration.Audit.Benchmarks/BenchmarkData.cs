using System.Text;
using Bpi.Orchestration.Audit;

namespace Bpi.Orchestration.Audit.Benchmarks;

internal static class BenchmarkData
{
    /// <summary>An entry whose JSON payload is exactly <paramref name="payloadBytes"/> bytes.</summary>
    public static NewAuditEntry Entry(int n, int payloadBytes = 256)
    {
        var prefix = $"{{\"n\":{n},\"pad\":\"";
        var payload = Encoding.UTF8.GetBytes(prefix + new string('x', payloadBytes - prefix.Length - 2) + "\"}");
        return new NewAuditEntry { Actor = "ci-job-4711", Action = "rollout.step.completed", Target = "deployment-web", Outcome = "succeeded", Payload = payload };
    }

    public static string TempDirectory(string name)
    {
        var path = Path.Combine(Path.GetTempPath(), "bpi-audit-bench", name + "-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public static async Task AppendConcurrentlyAsync(IAuditStore store, int appenders, int perAppender, NewAuditEntry[] entries)
    {
        var tasks = new Task[appenders];
        for (var a = 0; a < appenders; a++)
        {
            tasks[a] = Task.Run(async () =>
            {
                for (var i = 0; i < perAppender; i++)
                {
                    await store.AppendAsync(entries[i % entries.Length]).ConfigureAwait(false);
                }
            });
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
    }
}
