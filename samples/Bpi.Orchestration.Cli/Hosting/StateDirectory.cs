using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Bpi.Orchestration.Audit;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Cli.Hosting;

/// <summary>
/// The CLI's state directory: everything an orchestrator needs to pick up where the previous command left off.
/// <code>
/// orchestrator.lock        held (exclusive) by the one process that runs the orchestrator; holds its pid and command
/// deployments/             one JSON record per deployment (revisions, cursor of a running rollout)
/// audit/                   the hash-chained audit store (Bpi.Orchestration.Audit)
/// audit-signing-key.pem    the ECDSA P-256 key that signs audit checkpoints (owner-only)
/// audit-verifier-key.txt   the trusted verifier keys (one per line; `audit rotate-key` adds one), for `audit verify` and third parties
/// secrets-key.txt          the AES-256 key that seals component secrets in deployments/ (owner-only; unless
///                          $BPI_ORCHESTRATION_SECRETS_KEY_FILE names another file)
/// processes/               the local-process runtime: pids, ports and working directories of instances
/// live/                    the latest status of each deployment, written by the lock holder for other commands
/// </code>
/// </summary>
internal sealed class StateDirectory
{
    /// <summary>The orchestrator id: the owner label of every instance the CLI starts.</summary>
    public const string VmId = "bpi-cli";

    /// <summary>The audit log's origin (the first line of its signed checkpoints).</summary>
    public const string AuditOrigin = "bpi-orchestration/cli/audit";

    public StateDirectory(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
    }

    public string Path { get; }

    public string LockFile => System.IO.Path.Combine(Path, "orchestrator.lock");

    public string Deployments => System.IO.Path.Combine(Path, "deployments");

    public string Audit => System.IO.Path.Combine(Path, "audit");

    public string Processes => System.IO.Path.Combine(Path, "processes");

    public string Live => System.IO.Path.Combine(Path, "live");

    /// <summary>Markers of deployments a person paused: a rollout resumed by a later command is paused again at once.</summary>
    public string Paused => System.IO.Path.Combine(Path, "paused");

    public string SigningKeyFile => System.IO.Path.Combine(Path, "audit-signing-key.pem");

    public string VerifierKeyFile => System.IO.Path.Combine(Path, "audit-verifier-key.txt");

    /// <summary>The audit witness file (<c>BPI_ORCHESTRATION_AUDIT_WITNESS</c>), or <see langword="null"/> when none is configured.</summary>
    public string? AuditWitness { get; init; }

    /// <summary>Whether an audit trail was written here: entries, or at least the checkpoint the store signs when it is created.</summary>
    public bool HasAuditTrail =>
        Directory.Exists(Audit)
        && (new FileInfo(System.IO.Path.Combine(Audit, "checkpoints.log")) is { Exists: true, Length: > 0 }
            || Directory.EnumerateFiles(Audit, "*.seg").Any(f => new FileInfo(f).Length > AuditSegmentHeaderSize));

    /// <summary>The size of an audit segment's header (see the Audit package's README): a longer segment holds entries.</summary>
    private const int AuditSegmentHeaderSize = 32;
    /// <summary>The key that seals component secrets in the deployment records, unless another file is named.</summary>
    public string SecretsKeyFile => System.IO.Path.Combine(Path, "secrets-key.txt");

    /// <summary>
    /// The state directory for this invocation: <c>--state-dir</c>, else <c>BPI_ORCHESTRATION_STATE_DIR</c>, else
    /// <c>$XDG_STATE_HOME/bpi-orchestration</c>, else <c>~/.local/state/bpi-orchestration</c> (on Windows
    /// <c>%LOCALAPPDATA%\bpi-orchestration</c>).
    /// </summary>
    public static StateDirectory Resolve(string? option, Func<string, string?> getVariable)
    {
        var witness = getVariable(CliEnvironment.AuditWitnessVariable) is { Length: > 0 } w ? System.IO.Path.GetFullPath(w) : null;
        return new StateDirectory(ResolvePath(option, getVariable)) { AuditWitness = witness };
    }

    private static string ResolvePath(string? option, Func<string, string?> getVariable)
    {
        if (!string.IsNullOrWhiteSpace(option))
        {
            return option;
        }

        if (getVariable(CliEnvironment.StateDirVariable) is { Length: > 0 } fromEnvironment)
        {
            return fromEnvironment;
        }

        if (OperatingSystem.IsWindows())
        {
            return System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "bpi-orchestration");
        }

        var xdg = getVariable("XDG_STATE_HOME");
        var home = getVariable("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return System.IO.Path.Combine(string.IsNullOrEmpty(xdg) ? System.IO.Path.Combine(home, ".local", "state") : xdg, "bpi-orchestration");
    }

    /// <summary>Records (or clears) that a person paused a deployment's rollout.</summary>
    public void MarkPaused(string deploymentId, bool paused)
    {
        // The id names a file: it is checked first, so no path is ever built from anything but a well-formed id.
        if (!DeploymentIds.IsValid(deploymentId))
        {
            throw new CliException(ExitCodes.UsageError, $"'{deploymentId}' is not a deployment id (an id is {DeploymentIds.Grammar}).");
        }

        var marker = System.IO.Path.Combine(Paused, deploymentId);
        if (paused)
        {
            Directory.CreateDirectory(Paused);
            File.WriteAllText(marker, "");
        }
        else if (File.Exists(marker))
        {
            File.Delete(marker);
        }
    }

    /// <summary>The deployments a person paused.</summary>
    public IReadOnlyList<string> PausedDeployments() => Directory.Exists(Paused) ? [.. Directory.EnumerateFiles(Paused).Select(System.IO.Path.GetFileName).Where(DeploymentIds.IsValid).OfType<string>()] : [];

    /// <summary>Creates the directory (owner-only: specs may carry secrets).</summary>
    public void Create()
    {
        if (File.Exists(Path))
        {
            throw new CliException(ExitCodes.UsageError, $"the state directory {Path} is a file, not a directory; give --state-dir a directory (it is created when missing).");
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(Path);
        }
        else
        {
            Directory.CreateDirectory(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>
    /// Loads the audit signing key, creating it (with its verifier key file) on first use. Never creates a key beside an
    /// existing trail: a missing key there is an error to repair (restore it, or <c>audit rotate-key</c>), because a
    /// new key whose public half nobody trusts would make the trail fail verification for good.
    /// </summary>
    public CheckpointSigner LoadOrCreateSigner()
    {
        Create();
        if (File.Exists(SigningKeyFile) || Directory.Exists(SigningKeyFile))
        {
            var signer = ReadSigner();
            if (!File.Exists(VerifierKeyFile) && !HasAuditTrail)
            {
                // Key creation stopped between its two files (the signing key is written first): finish it.
                WriteAtomically(VerifierKeyFile, signer.VerifierKey + "\n");
            }

            return signer;
        }

        if (HasAuditTrail || File.Exists(VerifierKeyFile))
        {
            throw new CliException(ExitCodes.Failed, $"the audit signing key {SigningKeyFile} is missing, but the audit trail in {Audit} was signed with it (its public key is in {System.IO.Path.GetFileName(VerifierKeyFile)}); no new key was created. Restore the key file from a backup; if it is lost for good, run 'bpi-orchestration audit rotate-key' to sign from now on with a new key (the rotation is recorded in the trail and the new public key is added to {System.IO.Path.GetFileName(VerifierKeyFile)}).");
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = key.ExportPkcs8PrivateKeyPem();
        var created = CheckpointSigner.FromPem(AuditOrigin, pem);
        WriteAtomically(SigningKeyFile, pem);
        WriteAtomically(VerifierKeyFile, created.VerifierKey + "\n");
        return created;
    }

    /// <summary>
    /// Replaces the signing key with a new one and adds its public key to the trusted verifier keys (old keys stay
    /// trusted, so the checkpoints they signed still verify). Returns the new signer and the previous one, when its key
    /// file was still there.
    /// </summary>
    public (CheckpointSigner Current, CheckpointSigner? Previous) RotateSigner()
    {
        Create();
        var previous = File.Exists(SigningKeyFile) ? ReadSigner() : null;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = key.ExportPkcs8PrivateKeyPem();
        var current = CheckpointSigner.FromPem(AuditOrigin, pem);
        // The new public key is trusted before anything is signed with it; a crash in between leaves an unused trusted key.
        var trusted = ReadVerifierKeys().Append(previous?.VerifierKey).OfType<string>().Distinct(StringComparer.Ordinal).Append(current.VerifierKey);
        WriteAtomically(VerifierKeyFile, string.Join("\n", trusted) + "\n");
        WriteAtomically(SigningKeyFile, pem);
        return (current, previous);
    }

    /// <summary>The trusted verifier keys (one per line), empty when no key was created yet.</summary>
    public IReadOnlyList<string> ReadVerifierKeys() =>
        File.Exists(VerifierKeyFile) || Directory.Exists(VerifierKeyFile)
            ? SplitKeys(InputFiles.ReadText(VerifierKeyFile, InputFiles.MaxKeyBytes, "audit verifier key"))
            : [];

    /// <summary>The keys of a verifier key file: one per line, blank lines ignored.</summary>
    public static IReadOnlyList<string> SplitKeys(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Reads the signing key file (bounded, a regular file), naming the file when it is damaged.</summary>
    private CheckpointSigner ReadSigner()
    {
        var text = InputFiles.ReadText(SigningKeyFile, InputFiles.MaxKeyBytes, "audit signing key");
        try
        {
            return CheckpointSigner.FromPem(AuditOrigin, text);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException or FormatException)
        {
            throw new CliException(ExitCodes.InvalidConfig, $"the audit signing key {SigningKeyFile} is damaged ({ex.Message}); restore it from a backup of the state directory. Do not delete it: checkpoints signed by a new key cannot be verified with the stored verifier key.");
        }
    }

    /// <summary>The audit store options of this state directory: its origin, <paramref name="signers"/>, and the witness when one is configured.</summary>
    public FileAuditStoreOptions AuditOptions(params CheckpointSigner[] signers)
    {
        var options = new FileAuditStoreOptions();
        ConfigureAudit(options, signers);
        return options;
    }

    /// <summary>Sets the audit store options of this state directory (see <see cref="AuditOptions"/>).</summary>
    public void ConfigureAudit(FileAuditStoreOptions options, params CheckpointSigner[] signers)
    {
        options.Path = Audit;
        options.Origin = AuditOrigin;
        foreach (var signer in signers)
        {
            options.CheckpointSigners.Add(signer);
        }

        if (AuditWitness is not null)
        {
            options.Witnesses.Add(new FileAuditCheckpointWitness(AuditWitness));
        }
    }

    /// <summary>
    /// Loads the key that seals component secrets at rest: <paramref name="givenFile"/> when one is named (it must exist),
    /// else <see cref="SecretsKeyFile"/>, created on first use (32 random bytes in base64, owner-only, written to a
    /// temporary file and renamed, so it is whole or absent). Call it holding the state directory's lock.
    /// </summary>
    /// <returns>The key's id (derived from the key, so a wrong key names itself in the error) and the key in base64.</returns>
    public (string Id, string Key) LoadOrCreateSecretsKey(string? givenFile)
    {
        Create();
        var path = givenFile ?? SecretsKeyFile;
        if (givenFile is null && !File.Exists(path))
        {
            var temporary = string.Create(CultureInfo.InvariantCulture, $"{path}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "\n"));
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: false);
        }

        var text = InputFiles.ReadText(path, InputFiles.MaxKeyBytes, "secrets key file").Trim();

        byte[] key;
        try
        {
            key = Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            key = [];
        }

        if (key.Length != 32)
        {
            throw new CliException(ExitCodes.InvalidConfig, $"the secrets key file '{path}' does not hold 32 bytes in base64; restore the key the secrets were sealed with (or, for a new state directory, delete the file so a new key is made).");
        }

        return ("cli-" + Convert.ToHexStringLower(SHA256.HashData(key).AsSpan(0, 4)), text);
    }


    /// <summary>
    /// Takes the orchestrator lock: only one process at a time runs the orchestrator on a state directory (the
    /// process runtime and the audit store allow one owner each). Waits up to <paramref name="wait"/> for another
    /// holder to finish. The lock is released by the OS if the holder dies, so a crash never leaves it stuck.
    /// </summary>
    /// <returns>The lock, or <see langword="null"/> when another process still holds it (<see cref="DescribeHolder"/> says who).</returns>
    public async Task<StateLock?> TryLockAsync(string command, TimeSpan wait, TimeProvider time, CancellationToken cancellationToken)
    {
        Create();
        var deadline = time.GetTimestamp();
        while (true)
        {
            var taken = StateLock.TryTake(LockFile, command);
            if (taken is not null)
            {
                return taken;
            }

            if (time.GetElapsedTime(deadline) >= wait)
            {
                return null;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Who holds the lock now (pid and command), for messages; empty when unknown.</summary>
    public string DescribeHolder()
    {
        try
        {
            var owner = BoundedFile.ReadAllText(LockFile + ".owner", InputFiles.MaxSmallFileBytes, "lock owner file").Trim();
            return owner.Length > 200 ? owner[..200] + "…" : owner;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OrchestrationException)
        {
            return "";
        }
    }

    /// <summary>Writes an owner-only file through a temporary file and a rename, so it exists whole or not at all.</summary>
    private static void WriteAtomically(string path, string text)
    {
        var temporary = path + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(new UTF8Encoding(false).GetBytes(text));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }
}

/// <summary>The held orchestrator lock; disposing it releases it.</summary>
internal sealed class StateLock : IDisposable
{
    private readonly FileStream _stream;
    private readonly string _ownerFile;

    private StateLock(FileStream stream, string ownerFile)
    {
        _stream = stream;
        _ownerFile = ownerFile;
    }

    /// <summary>
    /// Takes the lock, or returns <see langword="null"/> when another process holds it. Any other failure (a read-only
    /// or full file system, a directory where the lock file belongs, no permission) is not "busy": it throws a
    /// <see cref="CliException"/> naming the path and the OS error.
    /// </summary>
    public static StateLock? TryTake(string path, string command)
    {
        FileStream stream;
        try
        {
            // FileShare.None is an exclusive advisory lock (flock) on Unix and a share-mode lock on Windows; the OS drops it when the process dies.
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (IsHeldByAnotherProcess(ex))
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Unusable(path, ex);
        }

        // The lock file itself cannot be read by others while locked, so who holds it is written beside it.
        var owner = path + ".owner";
        try
        {
            File.WriteAllText(owner, string.Create(CultureInfo.InvariantCulture, $"pid {Environment.ProcessId} (bpi-orchestration {command})\n"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stream.Dispose();
            throw Unusable(owner, ex);
        }

        return new StateLock(stream, owner);
    }

    /// <summary>Whether opening the lock file failed because another process holds it (EWOULDBLOCK from flock; a sharing violation on Windows).</summary>
    private static bool IsHeldByAnotherProcess(IOException ex)
    {
        const int EWOULDBLOCKLinux = 11, EWOULDBLOCKBsd = 35;
        const int SharingViolation = unchecked((int)0x80070020), LockViolation = unchecked((int)0x80070021);
        return OperatingSystem.IsWindows()
            ? ex.HResult is SharingViolation or LockViolation
            : ex.HResult == (OperatingSystem.IsLinux() ? EWOULDBLOCKLinux : EWOULDBLOCKBsd);
    }

    private static CliException Unusable(string path, Exception ex)
    {
        var reason = Directory.Exists(path) ? "it is a directory; remove it"
            : ex is UnauthorizedAccessException ? "permission denied"
            : ex.Message;
        return new CliException(
            ExitCodes.Failed,
            $"the state directory cannot be used: {path} cannot be written ({reason}). The state directory must be on a writable file system with free space; "
            + "give another one with --state-dir or $" + CliEnvironment.StateDirVariable + ".");
    }

    public void Dispose()
    {
        try
        {
            File.Delete(_ownerFile);
        }
        catch (IOException)
        {
            // Best effort: the next holder overwrites it.
        }

        _stream.Dispose();
    }
}
