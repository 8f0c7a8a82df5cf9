using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bpi.Orchestration.Backup;

/// <summary>
/// The <see cref="IOrchestrationBackup"/>: one zip file holding <c>manifest.json</c> (format version, creation time,
/// SDK version, each part's length and SHA-256) and one entry <c>parts/&lt;name&gt;</c> per <see cref="IBackupPart"/>.
/// The manifest is signed (<c>manifest.sig</c>: algorithm, key name and signature over the manifest's exact bytes) by
/// <see cref="OrchestrationBackupOptions.Signer"/>; the signature covers every part through its SHA-256.
/// A restore checks the signature first (refusing an unsigned backup unless <see cref="OrchestrationBackupOptions.AllowUnsigned"/>,
/// and a wrong signature always), reads the manifest, refuses a newer format, checks every part's SHA-256 and every part's own checks, refuses
/// stores that hold data unless forced — all before writing anything — then restores the parts one by one (each
/// atomically) and compares the restored deployments with what the runtime runs.
/// </summary>
public sealed class OrchestrationBackup : IOrchestrationBackup
{
    /// <summary>The backup format this SDK writes, and the newest it reads.</summary>
    public const int FormatVersion = 1;

    private const string ManifestEntry = "manifest.json";
    private const string SignatureEntry = "manifest.sig";
    private const int MaxSignatureBytes = 64 * 1024;
    private const string PartPrefix = "parts/";
    private const int MaxManifestBytes = 1024 * 1024;

    private readonly IReadOnlyList<IBackupPart> _parts;
    private readonly IDeploymentStore? _deployments;
    private readonly IWorkloadRuntime? _runtime;
    private readonly TimeProvider _time;
    private readonly OrchestrationBackupOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates a backup over <paramref name="parts"/>.</summary>
    /// <param name="parts">The parts, in the order they are written and restored; names must be unique.</param>
    /// <param name="time">The clock of the manifest's creation time.</param>
    /// <param name="options">How backups are signed and which signatures a restore trusts; every problem is listed when they are invalid.</param>
    /// <param name="deployments">The deployment store whose restored records are compared with the runtime, or <see langword="null"/>.</param>
    /// <param name="runtime">The runtime to compare the restored deployments with, or <see langword="null"/> to skip it.</param>
    /// <param name="logger">The logger, or <see langword="null"/>.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException"><paramref name="options"/> are invalid (every problem is listed).</exception>
    public OrchestrationBackup(IEnumerable<IBackupPart> parts, TimeProvider time, OrchestrationBackupOptions options, IDeploymentStore? deployments = null, IWorkloadRuntime? runtime = null, ILogger<OrchestrationBackup>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(parts);
        ArgumentNullException.ThrowIfNull(time);
        _options = ValidatedOptions.Ensure(options, new OrchestrationBackupOptionsValidator());
        _parts = [.. parts];
        var problems = new List<string>();
        foreach (var part in _parts)
        {
            if (!IsPartName(part.Name))
            {
                problems.Add($"The backup part name '{part.Name}' is invalid; use lowercase letters, digits and dashes.");
            }
        }

        foreach (var duplicate in _parts.GroupBy(p => p.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            problems.Add($"The backup part '{duplicate.Key}' is registered {duplicate.Count()} times; register each part once.");
        }

        if (problems.Count > 0)
        {
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, "The backup parts are invalid.", problems);
        }

        _time = time;
        _deployments = deployments;
        _runtime = runtime;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The version of Bpi.Orchestration.Core written in manifests.</summary>
    public static string SdkVersion { get; } =
        typeof(OrchestrationBackup).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(OrchestrationBackup).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <inheritdoc />
    public async Task<BackupManifest> BackupAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (_options.Signer is null && !_options.AllowUnsigned)
        {
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"No key signs backups, so none was written; set {nameof(OrchestrationBackupOptions)}.{nameof(OrchestrationBackupOptions.Signer)} (this host only restores: its options give trusted keys only), or allow unsigned backups explicitly.");
        }

        var entries = new List<BackupPartEntry>();
        var zip = new ZipArchive(destination, ZipArchiveMode.Create, leaveOpen: true);
        await using (zip.ConfigureAwait(false))
        {
            foreach (var part in _parts)
            {
                var entry = zip.CreateEntry(PartPrefix + part.Name, CompressionLevel.Optimal);
                var stream = await entry.OpenAsync(cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                    var hashing = new HashingWriteStream(stream, hash);
                    await using (hashing.ConfigureAwait(false))
                    {
                        await part.WriteAsync(hashing, cancellationToken).ConfigureAwait(false);
                    }

                    entries.Add(new BackupPartEntry(part.Name, hashing.Length, Convert.ToHexStringLower(hash.GetHashAndReset())));
                }
            }

            var manifest = new BackupManifest(FormatVersion, _time.GetUtcNow(), SdkVersion, entries);
            var manifestBytes = WriteManifest(manifest);
            await WriteEntryAsync(zip, ManifestEntry, manifestBytes, cancellationToken).ConfigureAwait(false);
            if (_options.Signer is { } signer)
            {
                await WriteEntryAsync(zip, SignatureEntry, WriteSignature(signer, manifestBytes), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                Log.BackupWrittenUnsigned(_logger);
            }

            Log.BackupWritten(_logger, entries.Count, string.Join(", ", entries.Select(e => e.Name)));
            return manifest;
        }
    }

    /// <inheritdoc />
    public async Task<BackupManifest> BackupAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        path = Path.GetFullPath(path);
        var temporary = string.Create(CultureInfo.InvariantCulture, $"{path}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
        try
        {
            BackupManifest manifest;
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.None, Options = FileOptions.Asynchronous };
            if (!OperatingSystem.IsWindows())
            {
                // The backup holds what the state holds (sealed secrets, key files as stored): owner-only, like the state.
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            var stream = new FileStream(temporary, options);
            await using (stream.ConfigureAwait(false))
            {
                manifest = await BackupAsync(stream, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
            return manifest;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <inheritdoc />
    public async Task<BackupRestoreReport> RestoreAsync(string path, bool force = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        // FileShare.Read: nobody changes the file between the checks and the restore.
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous);
        await using (stream.ConfigureAwait(false))
        {
            return await RestoreAsync(stream, force, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<BackupRestoreReport> RestoreAsync(Stream source, bool force = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!source.CanSeek)
        {
            var copy = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
            await using (copy.ConfigureAwait(false))
            {
                await source.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
                copy.Position = 0;
                return await RestoreAsync(copy, force, cancellationToken).ConfigureAwait(false);
            }
        }

        ZipArchive zip;
        try
        {
            zip = await ZipArchive.CreateAsync(source, ZipArchiveMode.Read, leaveOpen: true, entryNameEncoding: null, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            throw Refuse(BackupRefusal.Damaged, "The file is not a Bpi.Orchestration backup (not a zip file); restore from another backup.", [ex.Message]);
        }

        await using (zip.ConfigureAwait(false))
        {
            var (manifest, signedBy) = await ReadManifestAsync(zip, cancellationToken).ConfigureAwait(false);
            await CheckAsync(zip, manifest, force, cancellationToken).ConfigureAwait(false);
            foreach (var part in _parts)
            {
                var content = await zip.GetEntry(PartPrefix + part.Name)!.OpenAsync(cancellationToken).ConfigureAwait(false);
                await using (content.ConfigureAwait(false))
                {
                    await part.RestoreAsync(content, cancellationToken).ConfigureAwait(false);
                }
            }

            var deployments = await CompareWithRuntimeAsync(cancellationToken).ConfigureAwait(false);
            Log.BackupRestored(_logger, manifest.Parts.Count, manifest.CreatedAt, deployments.Count(d => d.Status == RestoredDeploymentStatus.Running), deployments.Count(d => d.Status == RestoredDeploymentStatus.Missing));
            return new BackupRestoreReport(manifest, deployments, signedBy);
        }
    }

    /// <summary>Everything that must hold before the first write: every part present and intact, every part's own checks, and empty stores unless forced.</summary>
    private async Task CheckAsync(ZipArchive zip, BackupManifest manifest, bool force, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        var listed = manifest.Parts.ToDictionary(p => p.Name, StringComparer.Ordinal);
        foreach (var entry in zip.Entries.Where(e => e.FullName is not (ManifestEntry or SignatureEntry) && !(e.FullName.StartsWith(PartPrefix, StringComparison.Ordinal) && listed.ContainsKey(e.FullName[PartPrefix.Length..]))))
        {
            problems.Add($"The backup holds '{entry.FullName}', which its manifest does not list: the file was changed after it was written.");
        }

        foreach (var name in listed.Keys.Where(n => !_parts.Any(p => p.Name == n)))
        {
            problems.Add($"The backup holds the part '{name}', which this orchestrator does not restore; register the package that contributes it (or restore with a host that has it).");
        }

        foreach (var part in _parts)
        {
            if (!listed.TryGetValue(part.Name, out var expected))
            {
                problems.Add($"The backup has no '{part.Name}' part, which this orchestrator restores; restore a backup written by a host with the same parts.");
                continue;
            }

            if (zip.GetEntry(PartPrefix + part.Name) is not { } entry)
            {
                problems.Add($"The part '{part.Name}' is listed in the manifest but missing from the file.");
                continue;
            }

            var (length, sha256) = await HashAsync(entry, cancellationToken).ConfigureAwait(false);
            if (length != expected.Length || !string.Equals(sha256, expected.Sha256, StringComparison.Ordinal))
            {
                problems.Add($"The part '{part.Name}' does not match the manifest (SHA-256 {sha256}, {length} bytes; the manifest says {expected.Sha256}, {expected.Length} bytes): it was changed or damaged.");
                continue;
            }

            var content = await entry.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (content.ConfigureAwait(false))
            {
                foreach (var problem in await part.VerifyAsync(content, cancellationToken).ConfigureAwait(false))
                {
                    problems.Add($"{part.Name}: {problem}");
                }
            }
        }

        if (problems.Count > 0)
        {
            Log.RestoreRefused(_logger, BackupRefusal.Damaged, problems.Count);
            throw Refuse(BackupRefusal.Damaged, $"The backup is damaged or was changed ({problems.Count} problem(s)); nothing was restored. Restore from another backup.", problems);
        }

        if (!force)
        {
            var holding = new List<string>();
            foreach (var part in _parts)
            {
                if (await part.HasDataAsync(cancellationToken).ConfigureAwait(false))
                {
                    holding.Add($"The '{part.Name}' store already holds data.");
                }
            }

            if (holding.Count > 0)
            {
                Log.RestoreRefused(_logger, BackupRefusal.NotEmpty, holding.Count);
                throw Refuse(BackupRefusal.NotEmpty, "The state is not empty; nothing was restored. Restore into an empty state, or force the restore to replace what is there.", holding);
            }
        }
    }

    /// <summary>Reads the manifest and checks its signature before anything in it is believed; returns who signed it (<see langword="null"/> when unsigned and allowed).</summary>
    private async Task<(BackupManifest Manifest, string? SignedBy)> ReadManifestAsync(ZipArchive zip, CancellationToken cancellationToken)
    {
        if (zip.GetEntry(ManifestEntry) is not { } entry)
        {
            throw Refuse(BackupRefusal.Damaged, "The file is not a Bpi.Orchestration backup (it has no manifest.json); restore from another backup.", []);
        }

        if (entry.Length > MaxManifestBytes)
        {
            throw Refuse(BackupRefusal.Damaged, $"The backup's manifest is {entry.Length} bytes, more than the limit of {MaxManifestBytes}; the file is damaged.", []);
        }

        var manifestBytes = await ReadEntryAsync(entry, cancellationToken).ConfigureAwait(false);
        var signedBy = await CheckSignatureAsync(zip, manifestBytes, cancellationToken).ConfigureAwait(false);
        BackupManifest manifest;
        try
        {
            manifest = ParseManifest(manifestBytes);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            throw Refuse(BackupRefusal.Damaged, "The backup's manifest cannot be read; the file is damaged. Restore from another backup.", [ex.Message]);
        }

        if (manifest.FormatVersion > FormatVersion)
        {
            Log.RestoreRefused(_logger, BackupRefusal.NewerFormat, 1);
            throw Refuse(
                BackupRefusal.NewerFormat,
                $"The backup is in format version {manifest.FormatVersion} (written by Bpi.Orchestration {manifest.SdkVersion}), newer than format version {FormatVersion} that this SDK ({SdkVersion}) reads; restore it with Bpi.Orchestration {manifest.SdkVersion} or newer.",
                []);
        }

        return (manifest, signedBy);
    }

    /// <summary>Checks <c>manifest.sig</c> over the manifest's bytes with the trusted keys; refuses a missing (unless allowed) or wrong signature.</summary>
    private async Task<string?> CheckSignatureAsync(ZipArchive zip, byte[] manifest, CancellationToken cancellationToken)
    {
        if (zip.GetEntry(SignatureEntry) is not { } entry)
        {
            if (_options.AllowUnsigned)
            {
                Log.RestoringUnsigned(_logger);
                return null;
            }

            Log.RestoreRefused(_logger, BackupRefusal.Unsigned, 1);
            throw Refuse(BackupRefusal.Unsigned, "The backup is not signed, so nothing proves it was not rewritten; nothing was restored. Restore a signed backup, or allow unsigned backups explicitly (OrchestrationBackupOptions.AllowUnsigned, CLI --allow-unsigned) if you know where this file has been.", []);
        }

        string algorithm, keyName;
        byte[] signature;
        try
        {
            if (entry.Length > MaxSignatureBytes)
            {
                throw new FormatException($"it is {entry.Length} bytes, more than the limit of {MaxSignatureBytes}");
            }

            using var document = JsonDocument.Parse(await ReadEntryAsync(entry, cancellationToken).ConfigureAwait(false));
            var root = document.RootElement;
            algorithm = root.GetProperty("algorithm").GetString() ?? throw new FormatException("it names no algorithm");
            keyName = root.GetProperty("keyName").GetString() ?? throw new FormatException("it names no key");
            signature = root.GetProperty("signature").GetBytesFromBase64();
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or KeyNotFoundException or InvalidDataException)
        {
            Log.RestoreRefused(_logger, BackupRefusal.SignatureInvalid, 1);
            throw Refuse(BackupRefusal.SignatureInvalid, "The backup's signature (manifest.sig) cannot be read; the file was changed or damaged. Nothing was restored; restore from another backup.", [ex.Message]);
        }

        var verifiers = _options.EffectiveVerifiers;
        if (verifiers.Count == 0)
        {
            if (_options.AllowUnsigned)
            {
                Log.RestoringUnsigned(_logger);
                return null;
            }

            Log.RestoreRefused(_logger, BackupRefusal.Unsigned, 1);
            throw Refuse(BackupRefusal.Unsigned, $"The backup is signed with {algorithm} key '{keyName}', but no trusted key was given to check it; nothing was restored. Give the key (OrchestrationBackupOptions.Verifiers; CLI --key with the verifier key file).", []);
        }

        var errors = new List<string>();
        foreach (var verifier in verifiers)
        {
            if (verifier.TryVerifyManifest(algorithm, keyName, manifest, signature, out var error))
            {
                return $"{algorithm} key '{keyName}'";
            }

            errors.Add(error ?? "the signature does not verify");
        }

        Log.RestoreRefused(_logger, BackupRefusal.SignatureInvalid, errors.Count);
        throw Refuse(BackupRefusal.SignatureInvalid, $"The backup's signature ({algorithm} key '{keyName}') does not verify with any trusted key: the backup was rewritten, or it was signed with another key. Nothing was restored; restore a backup signed with a trusted key, or give the key that signed it.", errors);
    }

    private static async Task<byte[]> ReadEntryAsync(ZipArchiveEntry entry, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var stream = await entry.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        return buffer.ToArray();
    }

    private static async Task WriteEntryAsync(ZipArchive zip, string name, byte[] content, CancellationToken cancellationToken)
    {
        var stream = await zip.CreateEntry(name, CompressionLevel.Optimal).OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            await stream.WriteAsync(content, cancellationToken).ConfigureAwait(false);
        }
    }

    private static byte[] WriteSignature(IBackupManifestSigner signer, byte[] manifest)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("algorithm", signer.Algorithm);
            json.WriteString("keyName", signer.KeyName);
            json.WriteBase64String("signature", signer.SignManifest(manifest));
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// Compares every live deployment of <paramref name="deployments"/> with what <paramref name="runtime"/> runs: the
    /// instances of its serving revision that run (an orchestrator adopts them when it starts) or none (missing).
    /// </summary>
    /// <param name="deployments">The (restored) deployment store.</param>
    /// <param name="runtime">The runtime.</param>
    /// <param name="cancellationToken">Cancels the comparison.</param>
    /// <returns>One entry per live deployment, by id.</returns>
    public static async Task<IReadOnlyList<RestoredDeployment>> CompareWithRuntimeAsync(IDeploymentStore deployments, IWorkloadRuntime runtime, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        ArgumentNullException.ThrowIfNull(runtime);
        var records = await deployments.ListAsync(cancellationToken).ConfigureAwait(false);
        var instances = await runtime.ListOwnedAsync(cancellationToken).ConfigureAwait(false);
        var report = new List<RestoredDeployment>();
        foreach (var record in records.Where(r => r.State.IsLive()).OrderBy(r => r.Id, StringComparer.Ordinal))
        {
            var running = record.StableRevision is { } stable
                ? instances.Count(i => i.DeploymentId == record.Id && i.Revision == stable && !i.IsTerminated)
                : 0;
            var status = record.StableRevision is null ? RestoredDeploymentStatus.NotServing
                : running > 0 ? RestoredDeploymentStatus.Running
                : RestoredDeploymentStatus.Missing;
            report.Add(new RestoredDeployment(record.Id, record.State, record.StableRevision, running, status));
        }

        return report;
    }

    private async Task<IReadOnlyList<RestoredDeployment>> CompareWithRuntimeAsync(CancellationToken cancellationToken)
    {
        if (_deployments is null || _runtime is null)
        {
            return [];
        }

        var report = await CompareWithRuntimeAsync(_deployments, _runtime, cancellationToken).ConfigureAwait(false);
        foreach (var missing in report.Where(d => d.Status == RestoredDeploymentStatus.Missing))
        {
            Log.RestoredDeploymentMissing(_logger, missing.Id, missing.ServingRevision!.Value);
        }

        return report;
    }

    private static async Task<(long Length, string Sha256)> HashAsync(ZipArchiveEntry entry, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long length = 0;
        var stream = await entry.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                int read;
                while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    length += read;
                }
            }
            catch (InvalidDataException)
            {
                // A damaged compressed stream: its hash cannot match.
                return (length, "unreadable");
            }
        }

        return (length, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private static byte[] WriteManifest(BackupManifest manifest)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("formatVersion", manifest.FormatVersion);
            json.WriteString("createdAt", manifest.CreatedAt);
            json.WriteString("sdkVersion", manifest.SdkVersion);
            json.WriteStartArray("parts");
            foreach (var part in manifest.Parts)
            {
                json.WriteStartObject();
                json.WriteString("name", part.Name);
                json.WriteNumber("length", part.Length);
                json.WriteString("sha256", part.Sha256);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static BackupManifest ParseManifest(byte[] utf8)
    {
        using var document = JsonDocument.Parse(utf8);
        var root = document.RootElement;
        var parts = new List<BackupPartEntry>();
        foreach (var part in root.GetProperty("parts").EnumerateArray())
        {
            var name = part.GetProperty("name").GetString() ?? throw new FormatException("A part has no name.");
            if (!IsPartName(name) || parts.Any(p => p.Name == name))
            {
                throw new FormatException($"The part name '{name}' is invalid or listed twice.");
            }

            parts.Add(new BackupPartEntry(name, part.GetProperty("length").GetInt64(), part.GetProperty("sha256").GetString() ?? throw new FormatException($"The part '{name}' has no SHA-256.")));
        }

        return new BackupManifest(
            root.GetProperty("formatVersion").GetInt32(),
            root.GetProperty("createdAt").GetDateTimeOffset(),
            root.GetProperty("sdkVersion").GetString() ?? "unknown",
            parts);
    }

    private static bool IsPartName(string? name) =>
        name is { Length: > 0 and <= 64 } && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');

    private static OrchestrationBackupException Refuse(BackupRefusal refusal, string message, IReadOnlyList<string> problems) =>
        new(refusal, message, problems);

    /// <summary>Passes writes through to a zip entry while hashing and counting them.</summary>
    private sealed class HashingWriteStream(Stream inner, IncrementalHash hash) : Stream
    {
        public long Written { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Written;

        public override long Position { get => Written; set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            Written += buffer.Length;
            inner.Write(buffer);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            hash.AppendData(buffer.Span);
            Written += buffer.Length;
            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        // The zip entry stream is the caller's to dispose: only this wrapper is.
        protected override void Dispose(bool disposing) => base.Dispose(disposing);
    }
}
