using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

/// <summary>
/// <c>backup</c> and <c>restore</c> (issue #20): a state directory with real deployments round-trips into an empty one
/// (<c>audit verify</c> passes, <c>list-deployments</c> matches), and a damaged, tampered or newer backup is refused
/// with its own exit code before anything is written. Backups are signed with the source's audit signing key; a restore
/// checks the signature with <c>--key</c> (the source's public verifier key) and refuses an unsigned, re-signed or
/// unverifiable backup (exit 23) unless <c>--allow-unsigned</c>.
/// </summary>
public sealed class BackupRestoreTests : IDisposable
{
    private readonly CliSandbox _source = new();
    private readonly CliSandbox _target = new();

    public void Dispose()
    {
        var left = ProcFs.KillAllIn(_source.StateDir).Concat(ProcFs.KillAllIn(_target.StateDir)).ToList();
        _source.Dispose();
        _target.Dispose();
        Assert.True(left.Count == 0, $"processes were left running (now killed): {string.Join(", ", left)}");
    }

    private string Config(string version, string strategy) => _source.WriteFile($"web-{version}.yaml", $$"""
        name: web
        appId: shop
        components:
          - id: web
            command: {{CliSandbox.SampleServiceDll}}
            replicas: 1
            ports: [8080]
            environment: { SAMPLE_VERSION: "{{version}}" }
            healthCheck: { path: /health, period: 300ms }
        strategy: { type: {{strategy}} }
        validation: { pollInterval: 100ms, progressDeadline: 90s }
        """);

    /// <summary>Deploys web 1.0.0, updates it to 2.0.0 (two retained revisions), destroys what runs at the end of the test, and writes a backup.</summary>
    private async Task<(string Id, string Backup, long AuditEntries)> DeployAndBackUpAsync()
    {
        var deploy = await _source.RunAsync("deploy", "--config", Config("1.0.0", "recreate"), "--output", "json");
        Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
        var id = deploy.Json.GetProperty("id").GetString()!;
        var update = await _source.RunAsync("update", "-d", id, "--config", Config("2.0.0", "rolling"));
        Assert.True(update.ExitCode == ExitCodes.Success, update.ToString());

        var audit = await _source.RunAsync("audit", "verify", "--output", "json");
        Assert.True(audit.ExitCode == ExitCodes.Success, audit.ToString());
        var file = _source.Dir("state.backup.zip");
        var backup = await _source.RunAsync("backup", "--file", file, "--output", "json");
        Assert.True(backup.ExitCode == ExitCodes.Success, backup.ToString());
        var parts = backup.Json.GetProperty("parts").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();
        Assert.Equal(["deployments", "audit", "keys", "settings"], parts);
        Assert.Equal(1, backup.Json.GetProperty("formatVersion").GetInt32());
        Assert.StartsWith("ecdsa-p256-sha256 key ", backup.Json.GetProperty("signedBy").GetString(), StringComparison.Ordinal);
        return (id, file, audit.Json.GetProperty("entriesVerified").GetInt64());
    }

    /// <summary>The source's public verifier key, kept apart from the backup (the restore trusts it, not the key files inside the backup).</summary>
    private string SourceKey()
    {
        var copy = _target.Dir("trusted-verifier-key.txt");
        File.Copy(Path.Combine(_source.StateDir, "audit-verifier-key.txt"), copy, overwrite: true);
        return copy;
    }

    private static string ListJson(CliResult list)
    {
        // What a restore must reproduce: every deployment's id, state, revisions and totals (not live instance counts).
        var rows = list.Json.GetProperty("deployments").EnumerateArray()
            .Select(d => $"{d.GetProperty("id").GetString()} {d.GetProperty("name").GetString()} {d.GetProperty("state").GetString()} stable={d.GetProperty("stableRevision")} created={d.GetProperty("createdAt")}");
        return string.Join("\n", rows) + "\n" + list.Json.GetProperty("totals").GetRawText();
    }

    [Fact]
    public async Task A_backup_restores_into_an_empty_state_directory_where_audit_verify_passes_and_list_deployments_matches()
    {
        var (id, backup, auditEntries) = await DeployAndBackUpAsync();
        var before = await _source.RunAsync("list-deployments", "--output", "json");
        Assert.True(before.ExitCode == ExitCodes.Success, before.ToString());

        var restore = await _target.RunAsync("restore", "--file", backup, "--key", SourceKey(), "--output", "json");
        Assert.True(restore.ExitCode == ExitCodes.Success, restore.ToString());
        Assert.StartsWith("ecdsa-p256-sha256 key ", restore.Json.GetProperty("signedBy").GetString(), StringComparison.Ordinal);
        var restored = Assert.Single(restore.Json.GetProperty("deployments").EnumerateArray());
        Assert.Equal(id, restored.GetProperty("id").GetString());
        Assert.Equal(2, restored.GetProperty("servingRevision").GetInt32());
        Assert.True(restore.Json.GetProperty("audit").GetProperty("valid").GetBoolean(), restore.ToString());
        // The restored trail is the same chain: every entry the source had when the backup was written.
        Assert.Equal(auditEntries, restore.Json.GetProperty("audit").GetProperty("entriesVerified").GetInt64());

        var verify = await _target.RunAsync("audit", "verify", "--output", "json");
        Assert.True(verify.ExitCode == ExitCodes.Success, verify.ToString());
        Assert.True(verify.Json.GetProperty("signaturesChecked").GetBoolean());

        var after = await _target.RunAsync("list-deployments", "--output", "json");
        Assert.True(after.ExitCode == ExitCodes.Success, after.ToString());
        Assert.Equal(ListJson(before), ListJson(after));
        // The retained revisions (specs, sealed secrets and all) are the stored ones.
        Assert.Equal(Revisions(_source, id), Revisions(_target, id));

        var again = await _target.RunAsync("restore", "--file", backup, "--key", SourceKey());
        Assert.True(again.ExitCode == ExitCodes.StateNotEmpty, again.ToString());
        Assert.Contains("The state is not empty", again.Error, StringComparison.Ordinal);

        foreach (var sandbox in new[] { _source, _target })
        {
            var destroy = await sandbox.RunAsync("destroy", "-d", id);
            Assert.True(destroy.ExitCode == ExitCodes.Success, destroy.ToString());
        }
    }

    [Fact]
    public async Task A_forced_restore_over_the_running_state_adopts_the_instances_that_run()
    {
        var (id, backup, _) = await DeployAndBackUpAsync();
        var key = Path.Combine(_source.StateDir, "audit-verifier-key.txt");
        var refused = await _source.RunAsync("restore", "--file", backup, "--key", key);
        Assert.True(refused.ExitCode == ExitCodes.StateNotEmpty, refused.ToString());

        var restore = await _source.RunAsync("restore", "--file", backup, "--force", "--key", key, "--output", "json");
        Assert.True(restore.ExitCode == ExitCodes.Success, restore.ToString());
        var restored = Assert.Single(restore.Json.GetProperty("deployments").EnumerateArray());
        Assert.Equal(("running", 1), (restored.GetProperty("status").GetString(), restored.GetProperty("runningInstances").GetInt32()));
        var verify = await _source.RunAsync("audit", "verify");
        Assert.True(verify.ExitCode == ExitCodes.Success, verify.ToString());

        var destroy = await _source.RunAsync("destroy", "-d", id);
        Assert.True(destroy.ExitCode == ExitCodes.Success, destroy.ToString());
    }

    [Fact]
    public async Task A_tampered_record_a_changed_audit_entry_and_a_newer_format_are_refused_and_nothing_is_written()
    {
        var (id, backup, _) = await DeployAndBackUpAsync();
        var destroy = await _source.RunAsync("destroy", "-d", id);
        Assert.True(destroy.ExitCode == ExitCodes.Success, destroy.ToString());

        // One byte of a record changed (the manifest is left as written): the part's SHA-256 no longer matches.
        var record = Tampered(backup, "record.zip", zip => ChangePart(zip, "deployments", bytes => { bytes[bytes.Length / 2] ^= 0x01; return bytes; }, rehash: false));
        var key = SourceKey();
        var refused = await _target.RunAsync("restore", "--file", record, "--key", key);
        Assert.True(refused.ExitCode == ExitCodes.BackupDamaged, refused.ToString());
        Assert.Contains("'deployments' does not match the manifest", refused.Error, StringComparison.Ordinal);
        AssertNothingRestored();

        // An audit entry changed and the manifest's hash recomputed to match: the signature no longer verifies; and with
        // the signature dropped and unsigned backups allowed, the audit verifier still catches it.
        var entry = Tampered(backup, "entry.zip", zip => ChangePart(zip, "audit", ChangeLastAuditEntry, rehash: true));
        refused = await _target.RunAsync("restore", "--file", entry, "--key", key);
        Assert.True(refused.ExitCode == ExitCodes.BackupSignatureRefused, refused.ToString());
        Assert.Contains("does not verify with any trusted key", refused.Error, StringComparison.Ordinal);
        AssertNothingRestored();
        var unsignedEntry = Tampered(entry, "entry-unsigned.zip", zip => zip.GetEntry("manifest.sig")!.Delete());
        refused = await _target.RunAsync("restore", "--file", unsignedEntry, "--key", key);
        Assert.True(refused.ExitCode == ExitCodes.BackupSignatureRefused, refused.ToString());
        Assert.Contains("The backup is not signed", refused.Error, StringComparison.Ordinal);
        AssertNothingRestored();
        refused = await _target.RunAsync("restore", "--file", unsignedEntry, "--allow-unsigned");
        Assert.True(refused.ExitCode == ExitCodes.BackupDamaged, refused.ToString());
        Assert.Contains("WARNING: --allow-unsigned", refused.Error, StringComparison.Ordinal);
        Assert.Contains("audit: the audit trail does not verify", refused.Error, StringComparison.Ordinal);
        AssertNothingRestored();

        // Checked with a key that did not sign it, or with no key at all.
        var otherKey = _target.Dir("other-verifier-key.txt");
        using (var other = Bpi.Orchestration.Audit.CheckpointSigner.Generate("bpi-orchestration/audit"))
        {
            File.WriteAllText(otherKey, other.VerifierKey + "\n");
        }

        refused = await _target.RunAsync("restore", "--file", backup, "--key", otherKey);
        Assert.True(refused.ExitCode == ExitCodes.BackupSignatureRefused, refused.ToString());
        Assert.Contains("which is not trusted", refused.Error, StringComparison.Ordinal);
        refused = await _target.RunAsync("restore", "--file", backup);
        Assert.True(refused.ExitCode == ExitCodes.BackupSignatureRefused, refused.ToString());
        Assert.Contains("no trusted key was given", refused.Error, StringComparison.Ordinal);
        AssertNothingRestored();

        var newer = Tampered(backup, "newer.zip", zip => { ChangeManifest(zip, m => m["formatVersion"] = 2); zip.GetEntry("manifest.sig")!.Delete(); });
        refused = await _target.RunAsync("restore", "--file", newer, "--allow-unsigned", "--output", "json");
        Assert.True(refused.ExitCode == ExitCodes.BackupTooNew, refused.ToString());
        var message = refused.Json.GetProperty("error").GetString()!;
        Assert.Contains("format version 2", message, StringComparison.Ordinal);
        Assert.Contains("format version 1", message, StringComparison.Ordinal);
        AssertNothingRestored();

        var notZip = _target.WriteFile("not-a-backup.zip", "hello");
        refused = await _target.RunAsync("restore", "--file", notZip, "--key", key);
        Assert.True(refused.ExitCode == ExitCodes.BackupDamaged, refused.ToString());
        AssertNothingRestored();

        // The untouched backup still restores.
        var restore = await _target.RunAsync("restore", "--file", backup, "--key", key);
        Assert.True(restore.ExitCode == ExitCodes.Success, restore.ToString());
        destroy = await _target.RunAsync("destroy", "-d", id);
        Assert.True(destroy.ExitCode == ExitCodes.Success, destroy.ToString());
    }

    private static string Revisions(CliSandbox sandbox, string id)
    {
        using var record = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(sandbox.StateDir, "deployments", id + ".json")));
        var revisions = record.RootElement.GetProperty("revisions");
        Assert.Equal(2, revisions.GetArrayLength());
        return revisions.GetRawText();
    }

    private void AssertNothingRestored()
    {
        var state = _target.StateDir;
        Assert.Empty(Directory.Exists(Path.Combine(state, "deployments")) ? Directory.GetFiles(Path.Combine(state, "deployments")) : []);
        Assert.False(Directory.Exists(Path.Combine(state, "audit")));
        Assert.False(File.Exists(Path.Combine(state, "secrets-key.txt")));
        Assert.False(File.Exists(Path.Combine(state, "audit-verifier-key.txt")));
        // No staging directory is left next to the state directory either.
        Assert.DoesNotContain(Directory.GetDirectories(Path.GetDirectoryName(state)!), d => Path.GetFileName(d).StartsWith(Path.GetFileName(state) + ".", StringComparison.Ordinal));
    }

    private string Tampered(string backup, string name, Action<ZipArchive> change)
    {
        var copy = _target.Dir(name);
        File.Copy(backup, copy, overwrite: true);
        using (var zip = ZipFile.Open(copy, ZipArchiveMode.Update))
        {
            change(zip);
        }

        return copy;
    }

    private static void ChangePart(ZipArchive zip, string part, Func<byte[], byte[]> change, bool rehash)
    {
        var entry = zip.GetEntry("parts/" + part)!;
        byte[] bytes;
        using (var stream = entry.Open())
        using (var buffer = new MemoryStream())
        {
            stream.CopyTo(buffer);
            bytes = buffer.ToArray();
        }

        bytes = change(bytes);
        entry.Delete();
        using (var stream = zip.CreateEntry("parts/" + part).Open())
        {
            stream.Write(bytes);
        }

        if (rehash)
        {
            ChangeManifest(zip, m =>
            {
                var listed = m["parts"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == part)!;
                listed["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes));
                listed["length"] = bytes.Length;
            });
        }
    }

    /// <summary>Flips one byte of the last audit entry in the part's segment (the part is a zip of the audit directory).</summary>
    private static byte[] ChangeLastAuditEntry(byte[] part)
    {
        using var buffer = new MemoryStream();
        buffer.Write(part);
        using (var inner = new ZipArchive(buffer, ZipArchiveMode.Update, leaveOpen: true))
        {
            var segment = inner.Entries.Single(e => e.Name.EndsWith(".seg", StringComparison.Ordinal));
            byte[] bytes;
            using (var stream = segment.Open())
            using (var copy = new MemoryStream())
            {
                stream.CopyTo(copy);
                bytes = copy.ToArray();
            }

            bytes[^8] ^= 0x20;
            var name = segment.FullName;
            segment.Delete();
            using var write = inner.CreateEntry(name, CompressionLevel.NoCompression).Open();
            write.Write(bytes);
        }

        return buffer.ToArray();
    }

    private static void ChangeManifest(ZipArchive zip, Action<JsonObject> change)
    {
        var entry = zip.GetEntry("manifest.json")!;
        JsonObject manifest;
        using (var stream = entry.Open())
        {
            manifest = JsonNode.Parse(stream)!.AsObject();
        }

        change(manifest);
        entry.Delete();
        using var write = zip.CreateEntry("manifest.json").Open();
        JsonSerializer.Serialize(write, manifest);
    }
}
