using System.Buffers.Binary;
using System.Security.Cryptography;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

/// <summary>
/// The audit trail of the state directory under tampering and lost keys (defects D10 and D14): a command never signs
/// over damaged checkpoints or creates a key beside an existing trail, and <c>audit verify</c> names what it found.
/// </summary>
public sealed class AuditTrailTests : IDisposable
{
    private readonly CliSandbox _cli = new();

    public void Dispose()
    {
        ProcFs.KillAllIn(_cli.StateDir);
        _cli.Dispose();
    }

    private string AuditDir => Path.Combine(_cli.StateDir, "audit");

    private string CheckpointFile => Path.Combine(AuditDir, "checkpoints.log");

    private string Segment => Directory.GetFiles(AuditDir, "*.seg").Single();

    /// <summary>
    /// One ordinary command that writes to the audit trail without starting anything: a deploy the policy denies
    /// (exit 9, audited as denied). Each one is a new invocation that opens the store and signs a checkpoint on exit.
    /// </summary>
    private async Task<CliResult> DeniedDeployAsync()
    {
        var policy = _cli.WriteFile("deny-deploy.txt", "[nodeploy] deny * deploy * *\n");
        var config = _cli.WriteFile("web.yaml", $$"""
            name: web
            appId: shop
            components:
              - id: web
                command: {{CliSandbox.SampleServiceDll}}
                replicas: 1
                ports: [8080]
            """);
        return await _cli.RunAsync("deploy", "--config", config, "--policy", policy);
    }

    private async Task BuildTrailAsync(int commands = 3)
    {
        for (var i = 0; i < commands; i++)
        {
            var denied = await DeniedDeployAsync();
            Assert.True(denied.ExitCode == ExitCodes.Unauthorized, denied.ToString());
        }

        var verify = await _cli.RunAsync("audit", "verify");
        Assert.True(verify.ExitCode == ExitCodes.Success, verify.ToString());
    }

    [Fact]
    public async Task A_rewritten_entry_behind_damaged_checkpoints_is_not_signed_over_by_the_next_command_and_verify_names_the_damage()
    {
        await BuildTrailAsync();
        ForgedTrail.RewriteActorAndRechain(Segment, sequence: 1);
        var rechained = await _cli.RunAsync("audit", "verify", "--output", "json");
        Assert.Equal("RootMismatch", rechained.Json.GetProperty("failure").GetString()); // every CRC and link is right: only the signed root tells
        var garbage = new byte[300];
        new Random(3).NextBytes(garbage);
        await File.WriteAllBytesAsync(CheckpointFile, garbage);

        var next = await DeniedDeployAsync();
        Assert.True(next.ExitCode == ExitCodes.Failed, next.ToString());
        Assert.Contains("checkpoints.log", next.Error, StringComparison.Ordinal);
        Assert.Equal(garbage, await File.ReadAllBytesAsync(CheckpointFile));

        var verify = await _cli.RunAsync("audit", "verify");
        Assert.True(verify.ExitCode == ExitCodes.Failed, verify.ToString());
        Assert.Contains("checkpoint record at offset 0", verify.Output, StringComparison.Ordinal);
        var export = await _cli.RunAsync("audit", "export", "--file", _cli.Dir("forged.export"));
        Assert.True(export.ExitCode == ExitCodes.Failed, export.ToString());
    }

    [Fact]
    public async Task Verify_fails_when_the_checkpoint_file_is_emptied_and_the_next_command_refuses_to_run()
    {
        await BuildTrailAsync();
        await File.WriteAllBytesAsync(CheckpointFile, []);

        var verify = await _cli.RunAsync("audit", "verify", "--output", "json");
        Assert.True(verify.ExitCode == ExitCodes.Failed, verify.ToString());
        Assert.Equal("UncheckpointedEntries", verify.Json.GetProperty("failure").GetString());

        var next = await DeniedDeployAsync();
        Assert.True(next.ExitCode == ExitCodes.Failed, next.ToString());
        Assert.Contains("no signed checkpoint", next.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_witness_removed_checkpoints_are_caught_by_the_next_command_and_by_verify()
    {
        var witness = _cli.Dir("witness/checkpoints.witness");
        _cli.Variables[CliEnvironment.AuditWitnessVariable] = witness;
        await BuildTrailAsync();
        Assert.True(File.Exists(witness));
        var verify = await _cli.RunAsync("audit", "verify");
        Assert.Contains("witness", verify.Output, StringComparison.Ordinal);

        // Drop the newest checkpoint: inside the state directory this looks like a crash before the last checkpoint.
        var bytes = await File.ReadAllBytesAsync(CheckpointFile);
        await File.WriteAllBytesAsync(CheckpointFile, bytes[..(int)ForgedTrail.RecordEnds(bytes)[^2]]);

        var next = await DeniedDeployAsync();
        Assert.True(next.ExitCode == ExitCodes.Failed, next.ToString());
        Assert.Contains("checkpoints were removed", next.Error, StringComparison.Ordinal);

        _cli.Variables.Remove(CliEnvironment.AuditWitnessVariable);
        var explicitWitness = await _cli.RunAsync("audit", "verify", "--witness", witness, "--output", "json");
        Assert.True(explicitWitness.ExitCode == ExitCodes.Failed, explicitWitness.ToString());
        Assert.Equal("WitnessMismatch", explicitWitness.Json.GetProperty("failure").GetString());
    }

    [Fact]
    public async Task A_deleted_signing_key_makes_commands_fail_without_creating_a_key_and_rotate_key_repairs_the_trail()
    {
        await BuildTrailAsync(commands: 1);
        var keyFile = Path.Combine(_cli.StateDir, "audit-signing-key.pem");
        var verifierFile = Path.Combine(_cli.StateDir, "audit-verifier-key.txt");
        var trustedBefore = await File.ReadAllTextAsync(verifierFile);
        File.Delete(keyFile);

        var first = await DeniedDeployAsync();
        Assert.True(first.ExitCode == ExitCodes.Failed, first.ToString());
        Assert.Contains("audit signing key", first.Error, StringComparison.Ordinal);
        Assert.Contains("audit rotate-key", first.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(keyFile));
        var second = await DeniedDeployAsync();
        Assert.True(second.ExitCode == ExitCodes.Failed, second.ToString());
        Assert.False(File.Exists(keyFile));
        Assert.Equal(trustedBefore, await File.ReadAllTextAsync(verifierFile));
        Assert.True((await _cli.RunAsync("audit", "verify")).ExitCode == ExitCodes.Success);

        var rotate = await _cli.RunAsync("audit", "rotate-key");
        Assert.True(rotate.ExitCode == ExitCodes.Success, rotate.ToString());
        Assert.True(File.Exists(keyFile));
        Assert.Equal(2, File.ReadAllLines(verifierFile).Length);

        Assert.Equal(ExitCodes.Unauthorized, (await DeniedDeployAsync()).ExitCode);
        var verify = await _cli.RunAsync("audit", "verify");
        Assert.True(verify.ExitCode == ExitCodes.Success, verify.ToString());
    }

    /// <summary>What an attacker with write access does to the trail, written from the format in the Audit README.</summary>
    private static class ForgedTrail
    {
        private const int SegmentHeaderSize = 32;
        private const int FrameHeaderSize = 8;
        private const int PreviousHashOffset = 17;
        private const int ActorOffset = 49;

        public static List<long> RecordEnds(byte[] bytes, long start = 0)
        {
            var ends = new List<long>();
            for (var position = start; position < bytes.Length;)
            {
                position += FrameHeaderSize + BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan((int)position));
                ends.Add(position);
            }

            return ends;
        }

        /// <summary>Changes the first letter of entry <paramref name="sequence"/>'s actor, then recomputes every CRC and previous-hash link after it.</summary>
        public static void RewriteActorAndRechain(string segment, int sequence)
        {
            var bytes = File.ReadAllBytes(segment);
            var ends = RecordEnds(bytes, SegmentHeaderSize);
            long Start(int i) => i == 0 ? SegmentHeaderSize : ends[i - 1];
            bytes[Start(sequence) + FrameHeaderSize + ActorOffset + 2] ^= 0x01;
            for (var i = sequence; i < ends.Count; i++)
            {
                var frame = bytes.AsSpan((int)Start(i), (int)(ends[i] - Start(i)));
                if (i > sequence)
                {
                    var previous = bytes.AsSpan((int)Start(i - 1) + FrameHeaderSize, (int)(ends[i - 1] - Start(i - 1) - FrameHeaderSize));
                    LeafHash(previous).CopyTo(frame[(FrameHeaderSize + PreviousHashOffset)..]);
                }

                BinaryPrimitives.WriteUInt32BigEndian(frame[4..], Crc32C(frame[..4], frame[FrameHeaderSize..]));
            }

            File.WriteAllBytes(segment, bytes);
        }

        private static byte[] LeafHash(ReadOnlySpan<byte> body) => SHA256.HashData([0x00, .. body]);

        private static uint Crc32C(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
        {
            var crc = 0xFFFFFFFFu;
            foreach (var part in new[] { first.ToArray(), second.ToArray() })
            {
                foreach (var b in part)
                {
                    crc ^= b;
                    for (var k = 0; k < 8; k++)
                    {
                        crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
                    }
                }
            }

            return ~crc;
        }
    }
}
