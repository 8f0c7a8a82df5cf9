using System.CommandLine;
using Spectre.Console;
using Bpi.Orchestration.Audit;
using Bpi.Orchestration.Backup;
using Bpi.Orchestration.Cli.Hosting;
using Bpi.Orchestration.Cli.Output;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Cli.Commands;

/// <summary><c>backup</c> and <c>restore</c> of the state directory (deployments, audit trail, key files as stored, settings).</summary>
internal static class BackupCommands
{
    /// <summary>The key files, backed up as they are stored.</summary>
    private static readonly HashSet<string> KeyFiles = new(StringComparer.Ordinal) { "audit-signing-key.pem", "audit-verifier-key.txt", "secrets-key.txt" };

    /// <summary>The state directory's settings: the recorded runtime and the authorization policy.</summary>
    private static readonly HashSet<string> SettingFiles = new(StringComparer.Ordinal) { "runtime.json", "policy.txt", "policy.json" };

    public static IEnumerable<Command> Create(CommandContextFactory factory)
    {
        yield return BackupCommand(factory);
        yield return RestoreCommand(factory);
    }

    private static Command BackupCommand(CommandContextFactory factory)
    {
        var file = new Option<string>("--file", "-f") { Description = "The backup file to write (a zip; owner-only, it holds the key files).", Required = true };
        file.Validators.Add(Parsing.NonEmptyPath);
        var command = new Command("backup", "Write the state directory's deployments (with their retained revisions), audit trail (with its signed checkpoints), key files as stored and settings to one zip file with a manifest of SHA-256 hashes, signed with the audit signing key (restore checks it with --key audit-verifier-key.txt). Docker volumes are not included: back them up yourself (see the README).") { file };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, "backup");
            using var stateLock = await ctx.LockAsync(ct).ConfigureAwait(false);
            var path = Path.GetFullPath(ctx.Get(file)!);
            using var signer = ctx.State.LoadOrCreateSigner();
            var manifest = await Create(ctx, new OrchestrationBackupOptions { Signer = signer }, checkpointVerifier: null).BackupAsync(path, ct).ConfigureAwait(false);
            if (ctx.Json)
            {
                StatusRenderer.WriteJson(ctx.Env, ToView(path, manifest, null, null, $"{((IBackupManifestSigner)signer).Algorithm} key '{signer.KeyName}'"), CliJson.Context.BackupView);
            }
            else
            {
                ctx.Env.Console.WriteLine($"Backed up {ctx.State.Path} to {path} (format {manifest.FormatVersion}, {manifest.CreatedAt:u}):");
                foreach (var part in manifest.Parts)
                {
                    ctx.Env.Console.WriteLine($"  {part.Name,-12} {part.Length,12} bytes  sha256 {part.Sha256}");
                }

                ctx.Env.Console.WriteLine($"Signed with the audit signing key {signer.KeyName}+{signer.KeyId:x8}; restore it with --key {ctx.State.VerifierKeyFile} (keep a copy of that public key file apart from the backups).");
                ctx.Env.Console.WriteLine("Docker volumes are not in the backup; see the CLI README for a recipe.");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command RestoreCommand(CommandContextFactory factory)
    {
        var file = new Option<string>("--file", "-f") { Description = "The backup file to restore.", Required = true };
        file.Validators.Add(Parsing.NonEmptyPath);
        var force = new Option<bool>("--force") { Description = "Replace the state directory's deployments, audit trail, keys and settings when it already holds some." };
        var key = new Option<string?>("--key") { Description = "A file with the trusted audit verifier key(s) (the audit-verifier-key.txt of the state directory that wrote the backup): the backup's signature and the checkpoint signatures are checked against it before anything is written. Required unless --allow-unsigned." };
        var allowUnsigned = new Option<bool>("--allow-unsigned") { Description = "INSECURE: restore without checking the backup's signature (an unsigned backup, or no --key). Anyone who could write the file could have rewritten the state it restores; a signature that does not verify is refused even so." };
        var command = new Command("restore", "Restore a backup into the state directory: the signature (with --key), the manifest's hashes, every record and the audit chain are checked before anything is written (exit 20 when the backup is damaged, 21 when its format is newer, 22 when the state directory is not empty without --force, 23 when the backup is unsigned, or its signature does not verify or cannot be checked without --key), then each part is renamed into place and the restored deployments are compared with what the runtime runs.") { file, force, key, allowUnsigned };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, "restore");
            var path = Path.GetFullPath(ctx.Get(file)!);
            if (!File.Exists(path))
            {
                throw new CliException(ExitCodes.NotFound, $"the backup file {path} does not exist.");
            }

            CheckpointVerifier? verifier = null;
            if (ctx.Get(key) is { } keyFile)
            {
                verifier = new CheckpointVerifier(StateDirectory.SplitKeys(InputFiles.ReadText(keyFile, InputFiles.MaxKeyBytes, "verifier key file")), StateDirectory.AuditOrigin);
            }

            var options = new OrchestrationBackupOptions { AllowUnsigned = ctx.Get(allowUnsigned) };
            if (verifier is not null)
            {
                options.Verifiers.Add(verifier);
            }
            else if (!options.AllowUnsigned)
            {
                throw new CliException(ExitCodes.BackupSignatureRefused, $"no trusted key was given to check the backup's signature; nothing was restored. Give --key with the audit-verifier-key.txt of the state directory that wrote the backup (a copy kept apart from the backups), or --allow-unsigned if you know where this file has been.");
            }

            if (options.AllowUnsigned)
            {
                ctx.Env.Error.WriteLine("WARNING: --allow-unsigned: an unsigned backup (or one whose signature cannot be checked without --key) is restored without proof that it was not rewritten.");
            }

            BackupRestoreReport report;
            using (await ctx.LockAsync(ct).ConfigureAwait(false))
            {
                report = await Create(ctx, options, verifier).RestoreAsync(path, ctx.Get(force), ct).ConfigureAwait(false);
            }

            // The restored trail exactly as restored (before the orchestrator below appends to it), with its restored key.
            AuditVerificationResult? audit = ctx.State.HasAuditTrail
                ? await AuditCommands.VerifyAsync(ctx.State, ctx.Get(key), ctx.State.AuditWitness, ct).ConfigureAwait(false)
                : null;

            // The orchestrator starts on the restored state (as every command does): it adopts the instances that run and
            // its self-healing starts again those of a serving revision that are gone; then each deployment is compared
            // with what the runtime runs.
            IReadOnlyList<RestoredDeployment> deployments;
            await using (var host = await ctx.OpenHostAsync(ct).ConfigureAwait(false))
            {
                deployments = await OrchestrationBackup.CompareWithRuntimeAsync(new FileDeploymentStore(ctx.State.Deployments), host.WorkloadRuntime, ct).ConfigureAwait(false);
            }

            if (ctx.Json)
            {
                StatusRenderer.WriteJson(ctx.Env, ToView(path, report.Manifest, deployments, audit, report.SignedBy), CliJson.Context.BackupView);
            }
            else
            {
                ctx.Env.Console.WriteLine($"Restored {path} (written {report.Manifest.CreatedAt:u} by Bpi.Orchestration {report.Manifest.SdkVersion}; {(report.SignedBy is { } by ? "signature of " + by + " verified" : "UNSIGNED, not verified")}) into {ctx.State.Path}.");
                foreach (var d in deployments)
                {
                    var what = d.Status switch
                    {
                        RestoredDeploymentStatus.Running => $"running: {d.RunningInstances} instance(s) of revision {d.ServingRevision} (adopted, or started again)",
                        RestoredDeploymentStatus.Missing => $"missing: no instance of revision {d.ServingRevision} runs; see `bpi-orchestration status -d {d.Id}`",
                        _ => "not serving: no revision served when the backup was written",
                    };
                    ctx.Env.Console.WriteLine($"  {d.Id,-24} {d.State,-12} {what}");
                }

                if (audit is not null)
                {
                    ctx.Env.Console.WriteLine(audit.ToString());
                }
            }

            return audit is { IsValid: false } ? ExitCodes.Failed : ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The parts of a CLI state directory, in the order they are written and restored.</summary>
    private static OrchestrationBackup Create(CommandContext ctx, OrchestrationBackupOptions options, CheckpointVerifier? checkpointVerifier) => new(
        [
            new DeploymentStoreBackupPart(new FileDeploymentStore(ctx.State.Deployments)),
            AuditBackupPart.ForDirectory(ctx.State.Audit, checkpointVerifier),
            new FileSetBackupPart("keys", ctx.State.Path, KeyFiles.Contains, ownsDirectory: false),
            new FileSetBackupPart("settings", ctx.State.Path, SettingFiles.Contains, ownsDirectory: false),
        ],
        ctx.Env.Time,
        options);

    private static BackupView ToView(string path, BackupManifest manifest, IReadOnlyList<RestoredDeployment>? deployments, AuditVerificationResult? audit, string? signedBy) => new()
    {
        SignedBy = signedBy,
        File = path,
        FormatVersion = manifest.FormatVersion,
        CreatedAt = manifest.CreatedAt,
        SdkVersion = manifest.SdkVersion,
        Parts = [.. manifest.Parts.Select(p => new BackupPartView(p.Name, p.Length, p.Sha256))],
        Deployments = deployments?.Select(d => new RestoredDeploymentView(d.Id, d.State.ToString(), d.ServingRevision, d.RunningInstances, d.Status.ToString().ToLowerInvariant())).ToList(),
        Audit = audit is null ? null : AuditCommands.ToView(audit),
    };
}
