using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Bpi.Orchestration.Backup;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Audit.Tests.Backup;

/// <summary>
/// The audit part of an orchestrator backup through the SDK (<c>AddFileAuditStore</c> + <c>AddBackup</c>): a restored
/// trail is the same chain (same root, same signed checkpoints), and a changed entry is refused by the audit verifier
/// before anything is written, even when the manifest's hash was recomputed to match (and the signature dropped, with
/// unsigned backups allowed). Backups are signed with the audit checkpoint key and checked with its public key.
/// </summary>
public sealed class AuditBackupPartTests : IDisposable
{
    private readonly TempDirectory _dir = new("bpi-audit-backup");

    public void Dispose() => _dir.Dispose();

    private static ServiceProvider Host(string auditDirectory, CheckpointSigner signer, Action<OrchestrationBackupOptions>? backup = null)
    {
        var services = new ServiceCollection();
        services.AddOrchestration().AddFileAuditStore(auditDirectory, o => o.CheckpointSigners.Add(signer)).AddBackup(o =>
        {
            o.Signer = signer;
            o.Verifiers.Add(new CheckpointVerifier([signer.VerifierKey]));
            backup?.Invoke(o);
        });
        return services.BuildServiceProvider();
    }

    private async Task<(MemoryStream Backup, AuditHash Root)> BackUpAsync(CheckpointSigner signer)
    {
        var backup = new MemoryStream();
        await using var provider = Host(_dir.Combine("source"), signer);
        var store = provider.GetRequiredService<IAuditStore>();
        for (var i = 0; i < 5; i++)
        {
            await store.AppendAsync(new NewAuditEntry { Actor = "alice", Action = "deployment.create", Target = $"web-{i}", Outcome = "succeeded" });
        }

        await store.CreateCheckpointAsync();
        var manifest = await provider.GetRequiredService<IOrchestrationBackup>().BackupAsync(backup);
        Assert.Equal(["deployments", AuditBackupPart.PartName], manifest.Parts.Select(p => p.Name));
        backup.Position = 0;
        return (backup, store.GetRootHash());
    }

    [Fact]
    public async Task A_restored_audit_trail_is_the_same_chain_and_verifies_with_its_signatures()
    {
        using var signer = CheckpointSigner.Generate("tests.example/key");
        var (backup, root) = await BackUpAsync(signer);
        var target = _dir.Combine("target");

        await using (var provider = Host(target, signer))
        {
            var report = await provider.GetRequiredService<IOrchestrationBackup>().RestoreAsync(backup);
            Assert.Equal(OrchestrationBackup.FormatVersion, report.Manifest.FormatVersion);
            Assert.Equal($"ecdsa-p256-sha256 key '{signer.KeyName}'", report.SignedBy);
        }

        var result = await AuditVerifier.VerifyDirectoryAsync(target, new CheckpointVerifier([signer.VerifierKey]));
        Assert.True(result.IsValid, result.Message);
        Assert.True(result.SignaturesChecked);
        Assert.Equal((5, root), (result.EntriesVerified, result.RootHash));
    }

    [Fact]
    public async Task A_changed_audit_entry_is_refused_by_the_audit_verifier_and_nothing_is_written()
    {
        using var signer = CheckpointSigner.Generate("tests.example/key");
        var (backup, _) = await BackUpAsync(signer);
        var tampered = ChangeAuditEntry(backup);
        var target = _dir.Combine("target");

        // The signature catches the rewritten manifest first; without it (allowed explicitly) the audit verifier does.
        await using (var signedOnly = Host(target, signer))
        {
            var bySignature = await Assert.ThrowsAsync<OrchestrationBackupException>(() => signedOnly.GetRequiredService<IOrchestrationBackup>().RestoreAsync(tampered));
            Assert.Equal(BackupRefusal.SignatureInvalid, bySignature.Refusal);
        }

        ZipEntries.Write(tampered, "manifest.sig", null);
        await using var provider = Host(target, signer, o => o.AllowUnsigned = true);
        var refused = await Assert.ThrowsAsync<OrchestrationBackupException>(() => provider.GetRequiredService<IOrchestrationBackup>().RestoreAsync(tampered));

        Assert.Equal(BackupRefusal.Damaged, refused.Refusal);
        Assert.Contains(refused.Errors, e => e.StartsWith("audit: the audit trail does not verify", StringComparison.Ordinal));
        Assert.False(Directory.Exists(target));
        Assert.DoesNotContain(Directory.GetDirectories(_dir.Path), d => Path.GetFileName(d).StartsWith("target.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_backup_signed_with_another_audit_key_is_refused_with_the_trusted_keys_named()
    {
        using var signer = CheckpointSigner.Generate("tests.example/key");
        var (backup, _) = await BackUpAsync(signer);
        using var other = CheckpointSigner.Generate("tests.example/key");
        var target = _dir.Combine("target");

        await using var provider = Host(target, other);
        var refused = await Assert.ThrowsAsync<OrchestrationBackupException>(() => provider.GetRequiredService<IOrchestrationBackup>().RestoreAsync(backup));

        Assert.Equal(BackupRefusal.SignatureInvalid, refused.Refusal);
        Assert.Contains(refused.Errors, e => e.Contains("which is not trusted", StringComparison.Ordinal) && e.Contains($"{other.KeyId:x8}", StringComparison.Ordinal));
        Assert.False(Directory.Exists(target));
    }

    /// <summary>Flips one byte in the last entry of the audit part's segment and recomputes the manifest's SHA-256 for the part.</summary>
    private static MemoryStream ChangeAuditEntry(MemoryStream backup)
    {
        var copy = new MemoryStream();
        backup.CopyTo(copy);
        using (var zip = new ZipArchive(copy, ZipArchiveMode.Update, leaveOpen: true))
        {
            var entry = zip.GetEntry("parts/audit")!;
            var part = new MemoryStream();
            using (var read = entry.Open())
            {
                read.CopyTo(part);
            }

            using (var inner = new ZipArchive(part, ZipArchiveMode.Update, leaveOpen: true))
            {
                var segment = inner.Entries.Single(e => e.Name.EndsWith(".seg", StringComparison.Ordinal));
                var bytes = new MemoryStream();
                using (var read = segment.Open())
                {
                    read.CopyTo(bytes);
                }

                var changed = bytes.ToArray();
                changed[^8] ^= 0x20;
                var name = segment.FullName;
                segment.Delete();
                using var write = inner.CreateEntry(name, CompressionLevel.NoCompression).Open();
                write.Write(changed);
            }

            var content = part.ToArray();
            entry.Delete();
            using (var write = zip.CreateEntry("parts/audit").Open())
            {
                write.Write(content);
            }

            var manifestEntry = zip.GetEntry("manifest.json")!;
            JsonObject manifest;
            using (var read = manifestEntry.Open())
            {
                manifest = JsonNode.Parse(read)!.AsObject();
            }

            var listed = manifest["parts"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "audit")!;
            listed["sha256"] = Convert.ToHexStringLower(SHA256.HashData(content));
            listed["length"] = content.Length;
            manifestEntry.Delete();
            using var manifestWrite = zip.CreateEntry("manifest.json").Open();
            using var writer = new System.Text.Json.Utf8JsonWriter(manifestWrite);
            manifest.WriteTo(writer);
        }

        copy.Position = 0;
        return copy;
    }
}
