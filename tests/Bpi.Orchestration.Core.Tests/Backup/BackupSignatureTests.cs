using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Bpi.Orchestration.Backup;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;
using Bpi.Orchestration.TestUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Tests.Backup;

/// <summary>
/// Signed backups: the manifest (every part's SHA-256) is signed, so a backup rewritten consistently — a part changed
/// and its hash and length recomputed in the manifest — is refused by the signature, as are a wrong key and an
/// unsigned backup unless unsigned backups are allowed explicitly; nothing is written when refused.
/// </summary>
public sealed class BackupSignatureTests
{
    private static readonly HmacBackupKey Key = new("ops/backup-2026", RandomNumberGenerator.GetBytes(32));

    [Fact]
    public async Task A_signed_backup_restores_and_reports_the_key_that_signed_it()
    {
        using var file = await BackupAsync(new OrchestrationBackupOptions { Signer = Key });
        var target = new InMemoryDeploymentStore();

        var report = await Create(target, new OrchestrationBackupOptions { Signer = Key }).RestoreAsync(file);

        Assert.Equal("hmac-sha256 key 'ops/backup-2026'", report.SignedBy);
        Assert.Equal(["web-1"], (await target.ListAsync()).Select(r => r.Id));
    }

    [Fact]
    public async Task A_backup_rewritten_consistently_with_its_hashes_recomputed_is_refused_by_the_signature_and_nothing_is_written()
    {
        using var file = await BackupAsync(new OrchestrationBackupOptions { Signer = Key });
        using var rewritten = RewriteConsistently(file, "alice", "mallory");
        var target = new InMemoryDeploymentStore();

        var refused = await Assert.ThrowsAsync<OrchestrationBackupException>(() => Create(target, new OrchestrationBackupOptions { Signer = Key }).RestoreAsync(rewritten));

        Assert.Equal(BackupRefusal.SignatureInvalid, refused.Refusal);
        Assert.Contains(refused.Errors, e => e.Contains("does not match the manifest", StringComparison.Ordinal));
        Assert.Empty(await target.ListAsync());

        // The per-part SHA-256 alone does not catch it: without the signature (allowed explicitly) the rewrite restores.
        ZipEntries.Write(rewritten, "manifest.sig", null);
        await Create(target, new OrchestrationBackupOptions { AllowUnsigned = true }).RestoreAsync(rewritten);
        Assert.Equal("mallory", Assert.Single(await target.ListAsync()).CreatedBy);
    }

    [Fact]
    public async Task A_backup_signed_with_another_key_is_refused()
    {
        using var file = await BackupAsync(new OrchestrationBackupOptions { Signer = new HmacBackupKey("ops/backup-2026", RandomNumberGenerator.GetBytes(32)) });
        var target = new InMemoryDeploymentStore();

        var refused = await Assert.ThrowsAsync<OrchestrationBackupException>(() => Create(target, new OrchestrationBackupOptions { Signer = Key, AllowUnsigned = true }).RestoreAsync(file));

        Assert.Equal(BackupRefusal.SignatureInvalid, refused.Refusal);
        Assert.Contains("does not verify with any trusted key", refused.Message, StringComparison.Ordinal);
        Assert.Empty(await target.ListAsync());
    }

    [Fact]
    public async Task An_unsigned_backup_is_refused_by_default_and_restored_only_when_allowed_explicitly()
    {
        using var file = await BackupAsync(new OrchestrationBackupOptions { AllowUnsigned = true });
        var target = new InMemoryDeploymentStore();

        var refused = await Assert.ThrowsAsync<OrchestrationBackupException>(() => Create(target, new OrchestrationBackupOptions { Signer = Key }).RestoreAsync(file));
        Assert.Equal(BackupRefusal.Unsigned, refused.Refusal);
        Assert.Contains("--allow-unsigned", refused.Message, StringComparison.Ordinal);
        Assert.Empty(await target.ListAsync());

        var report = await Create(target, new OrchestrationBackupOptions { Signer = Key, AllowUnsigned = true }).RestoreAsync(file);
        Assert.Null(report.SignedBy);
        Assert.Single(await target.ListAsync());
    }

    [Fact]
    public async Task A_signed_backup_whose_signature_was_removed_is_refused_as_unsigned()
    {
        using var file = await BackupAsync(new OrchestrationBackupOptions { Signer = Key });
        ZipEntries.Write(file, "manifest.sig", null);

        var refused = await Assert.ThrowsAsync<OrchestrationBackupException>(() => Create(new InMemoryDeploymentStore(), new OrchestrationBackupOptions { Signer = Key }).RestoreAsync(file));

        Assert.Equal(BackupRefusal.Unsigned, refused.Refusal);
    }

    [Fact]
    public void Options_without_a_signer_are_refused_naming_the_property_and_what_to_do()
    {
        var services = new ServiceCollection();
        services.AddOrchestration().AddBackup();
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<OrchestrationBackupOptions>>().Value);

        var failure = Assert.Single(error.Failures);
        Assert.StartsWith("OrchestrationBackupOptions.Signer: no key signs the backups or checks them;", failure, StringComparison.Ordinal);
        Assert.Contains("AllowUnsigned", failure, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new HmacBackupKey("k", new byte[16]));
    }

    [Fact]
    public async Task A_host_that_only_restores_checks_signatures_but_writes_no_unsigned_backup()
    {
        var restoreOnly = new OrchestrationBackupOptions();
        restoreOnly.Verifiers.Add(Key);
        using var file = await BackupAsync(new OrchestrationBackupOptions { Signer = Key });
        var target = new InMemoryDeploymentStore();

        var report = await Create(target, restoreOnly).RestoreAsync(file);

        Assert.NotNull(report.SignedBy);
        var error = await Assert.ThrowsAsync<OrchestrationException>(() => Create(target, restoreOnly).BackupAsync(new MemoryStream()));
        Assert.Contains("No key signs backups", error.Message, StringComparison.Ordinal);
    }

    private static OrchestrationBackup Create(IDeploymentStore store, OrchestrationBackupOptions options) =>
        new([new DeploymentStoreBackupPart(store)], TimeProvider.System, options);

    private static async Task<MemoryStream> BackupAsync(OrchestrationBackupOptions options)
    {
        var store = new InMemoryDeploymentStore();
        await store.SaveAsync(new DeploymentRecord { Id = "web-1", State = DeploymentState.Running, Revisions = [new RevisionSpec(1, Specs.Web())], StableRevision = 1, CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch, CreatedBy = "alice" });
        var file = new MemoryStream();
        await Create(store, options).BackupAsync(file);
        file.Position = 0;
        return file;
    }

    /// <summary>What an attacker who knows the format does: changes a part and writes its new SHA-256 and length into the manifest.</summary>
    private static MemoryStream RewriteConsistently(MemoryStream file, string from, string to)
    {
        var rewritten = ZipEntries.Copy(file);
        var part = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(ZipEntries.Read(rewritten, "parts/deployments")).Replace(from, to, StringComparison.Ordinal));
        var manifest = JsonNode.Parse(ZipEntries.Read(rewritten, "manifest.json"))!;
        var entry = manifest["parts"]!.AsArray().Single(p => (string?)p!["name"] == "deployments")!;
        entry["sha256"] = Convert.ToHexStringLower(SHA256.HashData(part));
        entry["length"] = part.Length;
        ZipEntries.Write(rewritten, "parts/deployments", part);
        ZipEntries.Write(rewritten, "manifest.json", Encoding.UTF8.GetBytes(manifest.ToJsonString()));
        return rewritten;
    }
}
