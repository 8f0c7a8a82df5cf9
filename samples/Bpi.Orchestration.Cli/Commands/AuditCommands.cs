using System.CommandLine;
using Spectre.Console;
using Bpi.Orchestration.Audit;
using Bpi.Orchestration.Cli.Hosting;
using Bpi.Orchestration.Cli.Output;

namespace Bpi.Orchestration.Cli.Commands;

/// <summary><c>audit verify</c> and <c>audit export</c> over the state directory's durable audit store.</summary>
internal static class AuditCommands
{
    public static IEnumerable<Command> Create(CommandContextFactory factory)
    {
        var audit = new Command("audit", "Verify or export the tamper-evident audit trail of every operation.");
        audit.Add(Verify(factory));
        audit.Add(Export(factory));
        yield return audit;
    }

    private static Command Verify(CommandContextFactory factory)
    {
        var key = new Option<string?>("--key") { Description = "A file with the trusted verifier key (default: the state directory's audit-verifier-key.txt)." };
        var command = new Command("verify", "Check every entry's CRC, encoding, sequence and hash chain, and the Merkle root against every signed checkpoint (exit 0 valid, 1 not).") { key };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, "audit verify");
            using var stateLock = await ctx.LockAsync(ct).ConfigureAwait(false);
            var result = await VerifyAsync(ctx.State, ctx.Get(key), ct).ConfigureAwait(false);
            if (ctx.Json)
            {
                StatusRenderer.WriteJson(ctx.Env, ToView(result), CliJson.Context.AuditVerifyView);
            }
            else
            {
                ctx.Env.Console.WriteLine(result.ToString());
            }

            return result.IsValid ? ExitCodes.Success : ExitCodes.Failed;
        });
        return command;
    }

    private static Command Export(CommandContextFactory factory)
    {
        var file = new Option<string>("--file", "-f") { Description = "The export file to write (verifiable offline with the verifier key).", Required = true };
        var command = new Command("export", "Write the whole audit trail, anchored to a freshly signed checkpoint, to one self-contained file.") { file };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, "audit export");
            using var stateLock = await ctx.LockAsync(ct).ConfigureAwait(false);
            using var signer = ctx.State.LoadOrCreateSigner();
            var options = new FileAuditStoreOptions { Path = ctx.State.Audit, Origin = StateDirectory.AuditOrigin };
            options.CheckpointSigners.Add(signer);
            await using var store = await FileAuditStore.OpenAsync(options, ctx.Env.Time, cancellationToken: ct).ConfigureAwait(false);
            var checkpoint = await AuditExport.WriteAsync(store, ctx.Get(file)!, ct).ConfigureAwait(false);
            var verifier = new CheckpointVerifier([signer.VerifierKey], StateDirectory.AuditOrigin);
            var result = await AuditVerifier.VerifyExportAsync(ctx.Get(file)!, verifier, ct).ConfigureAwait(false);
            if (ctx.Json)
            {
                StatusRenderer.WriteJson(ctx.Env, ToView(result), CliJson.Context.AuditVerifyView);
            }
            else
            {
                ctx.Env.Console.WriteLine($"Exported {checkpoint.TreeSize} entries to {Path.GetFullPath(ctx.Get(file)!)}.");
                ctx.Env.Console.WriteLine($"Verify it offline with this verifier key: {signer.VerifierKey}");
                ctx.Env.Console.WriteLine(result.ToString());
            }

            return result.IsValid ? ExitCodes.Success : ExitCodes.Failed;
        });
        return command;
    }

    /// <summary>Verifies the (closed) audit store of a state directory with its own or a given verifier key.</summary>
    public static async Task<AuditVerificationResult> VerifyAsync(StateDirectory state, string? keyFile, CancellationToken cancellationToken)
    {
        var keyText = keyFile is not null ? InputFiles.ReadText(keyFile, InputFiles.MaxKeyBytes, "verifier key file").Trim() : state.ReadVerifierKey();
        if (!Directory.Exists(state.Audit))
        {
            throw new CliException(ExitCodes.NotFound, $"there is no audit trail in {state.Path} yet; it is written by the first command that changes something (deploy, demo).");
        }

        if (keyText is null)
        {
            throw new CliException(ExitCodes.NotFound, $"the audit trail in {state.Path} is there, but its verifier key {state.VerifierKeyFile} is missing; restore it from a backup, or pass the trusted key with `audit verify --key <file>`.");
        }

        CheckpointVerifier verifier;
        try
        {
            verifier = new CheckpointVerifier([keyText], StateDirectory.AuditOrigin);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or System.Security.Cryptography.CryptographicException)
        {
            var source = keyFile ?? state.VerifierKeyFile;
            throw new CliException(ExitCodes.InvalidConfig, $"the verifier key in {source} is not a verifier key ({ex.Message}); restore it from a backup, or pass the trusted key with `audit verify --key <file>` (the key `audit export` prints).");
        }

        return await AuditVerifier.VerifyDirectoryAsync(state.Audit, verifier, cancellationToken).ConfigureAwait(false);
    }

    public static AuditVerifyView ToView(AuditVerificationResult result) => new()
    {
        Valid = result.IsValid,
        EntriesVerified = result.EntriesVerified,
        CheckpointsVerified = result.CheckpointsVerified,
        SignaturesChecked = result.SignaturesChecked,
        RootHash = result.RootHash.ToString(),
        Failure = result.Failure.ToString(),
        FirstBadSequence = result.FirstBadSequence,
        Message = result.Message,
    };
}
