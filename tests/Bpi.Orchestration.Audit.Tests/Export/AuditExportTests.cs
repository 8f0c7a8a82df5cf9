using FsCheck;
using FsCheck.Fluent;

namespace Bpi.Orchestration.Audit.Tests.Export;

public sealed class AuditExportTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointSigner _signer = CheckpointSigner.Generate("tests.example/key");

    public void Dispose()
    {
        _signer.Dispose();
        _dir.Dispose();
    }

    private async Task<string> ExportAsync(int entries)
    {
        await using var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Combine("log"), _signer));
        await TestLog.AppendManyAsync(store, entries);
        var path = _dir.Combine("audit.export");
        var checkpoint = await AuditExport.WriteAsync(store, path);
        Assert.Equal(entries, checkpoint.TreeSize);
        return path;
    }

    [Fact]
    public async Task An_export_verifies_offline_with_only_the_public_key()
    {
        var path = await ExportAsync(1200);
        var result = await AuditVerifier.VerifyExportAsync(path, new CheckpointVerifier([_signer.VerifierKey], expectedOrigin: TestLog.Origin));
        Assert.True(result.IsValid, result.Message);
        Assert.Equal(1200, result.EntriesVerified);
        Assert.Equal(1, result.CheckpointsVerified);
        Assert.Contains(_signer.VerifierKey, await File.ReadAllTextAsync(path));
    }

    [Fact]
    public async Task An_export_from_the_in_memory_store_verifies_too()
    {
        var options = new InMemoryAuditStoreOptions { Origin = TestLog.Origin, CheckpointSigners = { _signer } };
        await using var store = new InMemoryAuditStore(options);
        await TestLog.AppendManyAsync(store, 33);
        using var stream = new MemoryStream();
        await AuditExport.WriteAsync(store, stream);
        stream.Position = 0;
        var result = await AuditVerifier.VerifyExportAsync(stream, new CheckpointVerifier([_signer.VerifierKey]));
        Assert.True(result.IsValid, result.Message);
        Assert.Equal(33, result.EntriesVerified);
    }

    [Fact]
    public async Task Any_byte_change_truncation_or_extension_of_an_export_fails_verification()
    {
        var path = await ExportAsync(60);
        var original = await File.ReadAllBytesAsync(path);
        var verifier = new CheckpointVerifier([_signer.VerifierKey]);

        var gen = from position in Gen.Choose(0, original.Length - 1) from mask in Gen.Choose(1, 255) select (position, mask);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), Prop.ForAll(Arb.From(gen), t =>
        {
            var bytes = original.ToArray();
            bytes[t.position] ^= (byte)t.mask;
            using var stream = new MemoryStream(bytes);
            return !AuditVerifier.VerifyExportAsync(stream, verifier).GetAwaiter().GetResult().IsValid;
        }));

        foreach (var length in new[] { 0, 10, original.Length / 2, original.Length - 1 })
        {
            using var cut = new MemoryStream(original[..length]);
            Assert.False((await AuditVerifier.VerifyExportAsync(cut, verifier)).IsValid);
        }

        using var extended = new MemoryStream([.. original, .. original[^100..]]);
        Assert.False((await AuditVerifier.VerifyExportAsync(extended, verifier)).IsValid);
    }

    [Fact]
    public async Task An_export_does_not_verify_with_another_key()
    {
        var path = await ExportAsync(5);
        using var other = CheckpointSigner.Generate("tests.example/other");
        var result = await AuditVerifier.VerifyExportAsync(path, new CheckpointVerifier([other.VerifierKey]));
        Assert.Equal(AuditVerificationFailure.InvalidCheckpoint, result.Failure);
    }
}
