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
        var command = new Command("backup", "Write the state directory's deployments (with their retained revisions), audit trail (with its signed checkpoints), key files as stored and settings to one zip file with a manifest of SHA-256 hashes. Docker volumes are not included: back them up yourself (see the README).") { file };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, "backup");
            using var stateLock = await ctx.LockAsync(ct).ConfigureAwait(false);
            var path = Path.GetFullPath(ctx.Get(file)!);
            var manifest = await Create(ctx, checkpointVerifier: null).BackupAsync(path, ct).ConfigureAwait(false);
            if (ctx.Json)
            {
                StatusRenderer.WriteJson(ctx.Env, ToView(path, manifest, null, null), CliJson.Context.BackupView);
            }
            else
            {
                ctx.Env.Console.WriteLine($"Backed up {ctx.State.Path} to {path} (format {manifest.FormatVersion}, {manifest.CreatedAt:u}):");
                foreach (var part in manifest.Parts)
                {
                    ctx.Env.Console.WriteLine($"  {part.Name,-12} {part.Length,12} bytes  sha256 {part.Sha256}");
                }

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
        var key = new Option<string?>("--key") { Description = "A file with the trusted audit verifier key(s): checkpoint signatures are checked against it before anything is written (default: the chain and Merkle roots are checked before, the signatures with the restored key after)." };
        var command = new Command("restore", "Restore a backup into the state directory: the manifest's hashes, every record and the audit chain are checked before anything is written (exit 20 when the backup is damaged, 21 when its format is newer, 22 when the state directory is not empty without --force), then each part is renamed into place and the restored deployments are compared with what the runtime runs.") { file, force, key };
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

            BackupRestoreReport report;
            using (await ctx.LockAsync(ct).ConfigureAwait(false))
            {
                report = await Create(ctx, verifier).RestoreAsync(path, ctx.Get(force), ct).ConfigureAwait(false);
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
                StatusRenderer.WriteJson(ctx.Env, ToView(path, report.Manifest, deployments, audit), CliJson.Context.BackupView);
            }
            else
            {
                ctx.Env.Console.WriteLine($"Restored {path} (written {report.Manifest.CreatedAt:u} by Bpi.Orchestration {report.Manifest.SdkVersion}) into {ctx.State.Path}.");
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
    private static OrchestrationBackup Create(CommandContext ctx, CheckpointVerifier? checkpointVerifier) => new(
        [
            new DeploymentStoreBackupPart(new FileDeploymentStore(ctx.State.Deployments)),
            AuditBackupPart.ForDirectory(ctx.State.Audit, checkpointVerifier),
            new FileSetBackupPart("keys", ctx.State.Path, KeyFiles.Contains, ownsDirectory: false),
            new FileSetBackupPart("settings", ctx.State.Path, SettingFiles.Contains, ownsDirectory: false),
        ],
        ctx.Env.Time);

    private static BackupView ToView(string path, BackupManifest manifest, IReadOnlyList<RestoredDeployment>? deployments, AuditVerificationResult? audit) => new()
    {
        File = path,
        FormatVersion = manifest.FormatVersion,
        CreatedAt = manifest.CreatedAt,
        SdkVersion = manifest.SdkVersion,
        Parts = [.. manifest.Parts.Select(p => new BackupPartView(p.Name, p.Length, p.Sha256))],
        Deployments = deployments?.Select(d => new RestoredDeploymentView(d.Id, d.State.ToString(), d.ServingRevision, d.RunningInstances, d.Status.ToString().ToLowerInvariant())).ToList(),
        Audit = audit is null ? null : AuditCommands.ToView(audit),
    };
}
