using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Bpi.Orchestration.Audit;

namespace Bpi.Orchestration.Cli.Hosting;

/// <summary>
/// The CLI's state directory: everything an orchestrator needs to pick up where the previous command left off.
/// <code>
/// orchestrator.lock        held (exclusive) by the one process that runs the orchestrator; holds its pid and command
/// deployments/             one JSON record per deployment (revisions, cursor of a running rollout)
/// audit/                   the hash-chained audit store (Bpi.Orchestration.Audit)
/// audit-signing-key.pem    the ECDSA P-256 key that signs audit checkpoints (owner-only)
/// audit-verifier-key.txt   its public verifier key, for `audit verify` and third parties
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

    /// <summary>The key that seals component secrets in the deployment records, unless another file is named.</summary>
    public string SecretsKeyFile => System.IO.Path.Combine(Path, "secrets-key.txt");

    /// <summary>
    /// The state directory for this invocation: <c>--state-dir</c>, else <c>BPI_ORCHESTRATION_STATE_DIR</c>, else
    /// <c>$XDG_STATE_HOME/bpi-orchestration</c>, else <c>~/.local/state/bpi-orchestration</c> (on Windows
    /// <c>%LOCALAPPDATA%\bpi-orchestration</c>).
    /// </summary>
    public static StateDirectory Resolve(string? option, Func<string, string?> getVariable)
    {
        if (!string.IsNullOrWhiteSpace(option))
        {
            return new StateDirectory(option);
        }

        if (getVariable(CliEnvironment.StateDirVariable) is { Length: > 0 } fromEnvironment)
        {
            return new StateDirectory(fromEnvironment);
        }

        if (OperatingSystem.IsWindows())
        {
            return new StateDirectory(System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "bpi-orchestration"));
        }

        var xdg = getVariable("XDG_STATE_HOME");
        var home = getVariable("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return new StateDirectory(System.IO.Path.Combine(string.IsNullOrEmpty(xdg) ? System.IO.Path.Combine(home, ".local", "state") : xdg, "bpi-orchestration"));
    }

    /// <summary>Records (or clears) that a person paused a deployment's rollout.</summary>
    public void MarkPaused(string deploymentId, bool paused)
    {
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
    public IReadOnlyList<string> PausedDeployments() => Directory.Exists(Paused) ? [.. Directory.EnumerateFiles(Paused).Select(System.IO.Path.GetFileName).OfType<string>()] : [];

    /// <summary>Creates the directory (owner-only: specs may carry secrets).</summary>
    public void Create()
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(Path);
        }
        else
        {
            Directory.CreateDirectory(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>Loads the audit signing key, creating it (and its verifier key file) on first use.</summary>
    public CheckpointSigner LoadOrCreateSigner()
    {
        Create();
        if (File.Exists(SigningKeyFile))
        {
            return CheckpointSigner.FromPem(AuditOrigin, File.ReadAllText(SigningKeyFile));
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = key.ExportPkcs8PrivateKeyPem();
        WriteOwnerOnly(SigningKeyFile, pem);
        var signer = CheckpointSigner.FromPem(AuditOrigin, pem);
        WriteOwnerOnly(VerifierKeyFile, signer.VerifierKey + "\n");
        return signer;
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

        string text;
        try
        {
            text = File.ReadAllText(path).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.NotFound, $"the secrets key file '{path}' cannot be read ({ex.Message}); it seals the secrets of the deployments in {Deployments}.");
        }

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

    /// <summary>The verifier key text, or <see langword="null"/> when no key was created yet.</summary>
    public string? ReadVerifierKey() => File.Exists(VerifierKeyFile) ? File.ReadAllText(VerifierKeyFile).Trim() : null;

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
            return File.ReadAllText(LockFile + ".owner").Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static void WriteOwnerOnly(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream, new UTF8Encoding(false));
        writer.Write(text);
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

    public static StateLock? TryTake(string path, string command)
    {
        try
        {
            // FileShare.None is an exclusive advisory lock (flock) on Unix and a share-mode lock on Windows; the OS drops it when the process dies.
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            // The lock file itself cannot be read by others while locked, so who holds it is written beside it.
            var owner = path + ".owner";
            File.WriteAllText(owner, string.Create(CultureInfo.InvariantCulture, $"pid {Environment.ProcessId} (bpi-orchestration {command})\n"));
            return new StateLock(stream, owner);
        }
        catch (IOException)
        {
            return null;
        }
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
