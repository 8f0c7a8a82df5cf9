using System.Diagnostics;
using System.Text;

namespace Bpi.Orchestration.Audit.Tests.Storage;

/// <summary>
/// A child process appends continuously from several appenders and prints each acknowledged sequence number after its
/// append returned; it is killed with SIGKILL at a random moment. After every kill the store is reopened: every
/// acknowledged entry must be there (with the content the child wrote) and the whole log must verify.
/// </summary>
public sealed class CrashRecoveryTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointSigner _signer = CheckpointSigner.Generate("crash-host.test/audit");

    public void Dispose()
    {
        _signer.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public Task No_acknowledged_entry_is_lost_when_the_writer_is_killed_5_times() => RunRoundsAsync(5, seed: 11);

    [Fact]
    [Trait("Category", "LongRunning")]
    public Task No_acknowledged_entry_is_lost_when_the_writer_is_killed_50_times() => RunRoundsAsync(50, seed: 29);

    private async Task RunRoundsAsync(int rounds, int seed)
    {
        var random = new Random(seed);
        var logDirectory = _dir.Combine("log");
        var keyFile = _dir.Combine("key.pem");
        await File.WriteAllTextAsync(keyFile, _signer.ExportPrivateKeyPem());
        var acknowledged = new Dictionary<long, (int Appender, int N)>();
        var verifier = new CheckpointVerifier([_signer.VerifierKey]);
        for (var round = 0; round < rounds; round++)
        {
            var killAfter = random.Next(1, 400);
            var appenders = random.Next(1, 9);
            await RunChildAsync(logDirectory, keyFile, appenders, killAfter, acknowledged);

            // Reopen: recovery must keep every acknowledged entry.
            // With the signer: entries the killed writer appended after its last checkpoint are signed when this store closes.
            await using (var store = await FileAuditStore.OpenAsync(new FileAuditStoreOptions { Path = logDirectory, SegmentSize = 64 * 1024, CheckpointInterval = TimeSpan.Zero, CheckpointEveryEntries = 0, CheckpointSigners = { _signer } }))
            {
                var maxAcknowledged = acknowledged.Keys.DefaultIfEmpty(-1).Max();
                Assert.True(store.Count > maxAcknowledged, $"round {round}: entry {maxAcknowledged} was acknowledged but the store holds only {store.Count}");
                await foreach (var entry in store.ReadAsync())
                {
                    if (acknowledged.TryGetValue(entry.Sequence, out var who))
                    {
                        Assert.Equal($"appender-{who.Appender}", entry.Actor);
                        Assert.Contains($"\"n\":{who.N},", entry.GetPayloadJson(), StringComparison.Ordinal);
                    }
                }
            }

            var result = await AuditVerifier.VerifyDirectoryAsync(logDirectory, verifier);
            Assert.True(result.IsValid, $"round {round}: {result.Message}");
        }

        Assert.True(acknowledged.Count >= rounds);
    }

    private static async Task RunChildAsync(string logDirectory, string keyFile, int appenders, int killAfter, Dictionary<long, (int, int)> acknowledged)
    {
        var host = Path.Combine(AppContext.BaseDirectory, "Bpi.Orchestration.Audit.CrashHost.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var argument in new[] { host, logDirectory, keyFile, appenders.ToString(), (64 * 1024).ToString() })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var seen = 0;
        var ready = false;
        try
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("ready ", StringComparison.Ordinal))
                {
                    ready = true;
                    continue;
                }

                var parts = line.Split(' ');
                if (parts.Length == 4 && parts[0] == "ack" && long.TryParse(parts[1], out var sequence)
                    && int.TryParse(parts[2], out var appender) && int.TryParse(parts[3], out var n))
                {
                    Assert.False(acknowledged.ContainsKey(sequence), $"sequence {sequence} was acknowledged twice");
                    acknowledged[sequence] = (appender, n);
                    if (++seen >= killAfter)
                    {
                        process.Kill(); // SIGKILL on Unix: no finally blocks, no flush, no dispose in the child.
                        break;
                    }
                }
            }

            // Lines the child printed before it died are acknowledged too; a partial last line is not.
            var rest = await process.StandardOutput.ReadToEndAsync();
            var complete = rest.EndsWith('\n') ? rest : rest[..(rest.LastIndexOf('\n') + 1)];
            foreach (var line in complete.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = line.Split(' ');
                if (parts.Length == 4 && parts[0] == "ack")
                {
                    acknowledged[long.Parse(parts[1])] = (int.Parse(parts[2]), int.Parse(parts[3]));
                }
            }
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            await process.WaitForExitAsync();
        }

        Assert.True(ready, "the crash host never opened the store: " + await stderr);
    }
}
