using System.CommandLine;
using Spectre.Console;
using Bpi.Orchestration.Audit;
using Bpi.Orchestration.Cli.Hosting;
using Bpi.Orchestration.Cli.Output;

namespace Bpi.Orchestration.Cli.Commands;

/// <summary><c>audit verify</c>, <c>audit export</c> and <c>audit rotate-key</c> over the state directory's durable audit store.</summary>
internal static class AuditCommands
{
    public static IEnumerable<Command> Create(CommandContextFactory factory)
    {
        var audit = new Command("audit", "Verify or export the tamper-evident audit trail of every operation.");
        audit.Add(Verify(factory));
        audit.Add(Export(factory));
        audit.Add(RotateKey(factory));
        yield return audit;
    }

    private static Command Verify(CommandContextFactory factory)
    {
        var key = new Option<string?>("--key") { Description = "A file with the trusted verifier key(s), one per line (default: the state directory's audit-verifier-key.txt)." };
        var witness = new Option<string?>("--witness") { Description = $"An audit witness file to check the trail against (default: ${CliEnvironment.AuditWitnessVariable})." };
        var command = new Command("verify", "Check every entry's CRC, encoding, sequence and hash chain, the Merkle root against every signed checkpoint, that a signed checkpoint covers every entry, and the trail against the witness (exit 0 valid, 1 not).") { key, witness };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, "audit verify");
            using var stateLock = await ctx.LockAsync(ct).ConfigureAwait(false);
            var result = await VerifyAsync(ctx.State, ctx.Get(key), ctx.Get(witness) ?? ctx.State.AuditWitness, ct).ConfigureAwait(false);
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
            await using var store = await FileAuditStore.OpenAsync(ctx.State.AuditOptions(signer), ctx.Env.Time, cancellationToken: ct).ConfigureAwait(false);
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

    private static Command RotateKey(CommandContextFactory factory)
    {
        var command = new Command("rotate-key", "Sign audit checkpoints with a new key from now on: the new public key is added to audit-verifier-key.txt (the old ones stay trusted), the rotation is recorded in the trail, and a checkpoint signed with the new key (and the old one, if its key file is still there) covers it. Use it when the signing key was lost or may have leaked.");
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, "audit rotate-key");
            using var stateLock = await ctx.LockAsync(ct).ConfigureAwait(false);
            var (current, previous) = ctx.State.RotateSigner();
            using (current)
            using (previous)
            {
                var signers = previous is null ? new[] { current } : [previous, current];
                await using (var store = await FileAuditStore.OpenAsync(ctx.State.AuditOptions(signers), ctx.Env.Time, cancellationToken: ct).ConfigureAwait(false))
                {
                    await store.AppendAsync(new NewAuditEntry
                    {
                        Actor = CliSecurity.LocalActor(ctx.Env).Id,
                        Action = "audit.signing-key.rotated",
                        Target = StateDirectory.AuditOrigin,
                        Outcome = "succeeded",
                        Payload = System.Text.Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new SortedDictionary<string, string?>(StringComparer.Ordinal)
                        {
                            ["newKey"] = current.VerifierKey,
                            ["previousKey"] = previous?.VerifierKey,
                            ["previousKeyAvailable"] = previous is null ? "false" : "true",
                        })),
                    }, ct).ConfigureAwait(false);
                    await store.CreateCheckpointAsync(ct).ConfigureAwait(false);
                }

                ctx.Env.Console.WriteLine($"Audit checkpoints are now signed with {current.KeyName}+{current.KeyId:x8}; its verifier key was added to {ctx.State.VerifierKeyFile}:");
                ctx.Env.Console.WriteLine(current.VerifierKey);
                if (previous is null)
                {
                    ctx.Env.Console.WriteLine("The previous signing key was missing: entries appended since its last checkpoint are now vouched for by the new key only.");
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Verifies the (closed) audit store of a state directory with its own or given verifier keys, and against a witness file when one is given.</summary>
    public static async Task<AuditVerificationResult> VerifyAsync(StateDirectory state, string? keyFile, string? witnessFile, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> keys = keyFile is not null
            ? StateDirectory.SplitKeys(InputFiles.ReadText(keyFile, InputFiles.MaxKeyBytes, "verifier key file"))
            : state.ReadVerifierKeys();
        if (!Directory.Exists(state.Audit))
        {
            throw new CliException(ExitCodes.NotFound, $"there is no audit trail in {state.Path} yet; it is written by the first command that changes something (deploy, demo).");
        }

        if (keys.Count == 0)
        {
            throw new CliException(ExitCodes.NotFound, $"the audit trail in {state.Path} is there, but its verifier key {state.VerifierKeyFile} is missing; restore it from a backup, or pass the trusted key with `audit verify --key <file>`.");
        }

        if (witnessFile is not null && !File.Exists(witnessFile))
        {
            throw new CliException(ExitCodes.NotFound, $"the audit witness file {witnessFile} does not exist; check --witness or ${CliEnvironment.AuditWitnessVariable}.");
        }

        CheckpointVerifier verifier;
        try
        {
            verifier = new CheckpointVerifier(keys, StateDirectory.AuditOrigin);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or System.Security.Cryptography.CryptographicException)
        {
            var source = keyFile ?? state.VerifierKeyFile;
            throw new CliException(ExitCodes.InvalidConfig, $"the verifier key in {source} is not a verifier key ({ex.Message}); restore it from a backup, or pass the trusted key with `audit verify --key <file>` (the key `audit export` prints).");
        }

        IReadOnlyList<IAuditCheckpointWitness> witnesses = witnessFile is null ? [] : [new FileAuditCheckpointWitness(witnessFile)];
        return await AuditVerifier.VerifyDirectoryAsync(state.Audit, verifier, witnesses, cancellationToken).ConfigureAwait(false);
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
