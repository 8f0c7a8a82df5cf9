using System.Net;
using System.Text;
using Bpi.Orchestration.Audit.Tests.Verification;

namespace Bpi.Orchestration.Audit.Tests.Witnesses;

/// <summary>
/// Witnesses hold the log's checkpoints outside its directory: they catch what no check inside the directory can, a
/// rollback or a rewrite re-signed with the log's own key.
/// </summary>
public sealed class AuditWitnessTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly TempDirectory _elsewhere = new();
    private readonly CheckpointSigner _signer = CheckpointSigner.Generate("tests.example/key");

    public AuditWitnessTests()
    {
        WitnessFile = _elsewhere.Combine("witness.log");
    }

    public void Dispose()
    {
        _signer.Dispose();
        _dir.Dispose();
        _elsewhere.Dispose();
    }

    private string WitnessFile { get; }

    private FileAuditCheckpointWitness Witness => new(WitnessFile);

    private CheckpointVerifier Verifier => new([_signer.VerifierKey], TestLog.Origin);

    private string CheckpointFile => _dir.Combine("checkpoints.log");

    private string OnlySegment => Directory.GetFiles(_dir.Path, "*.seg").Single();

    private Action<FileAuditStoreOptions> WithWitness => o => o.Witnesses.Add(Witness);

    private Task CreateLogAsync() => CheckpointTamperingTests.CreateLogAsync(_dir.Path, _signer, configure: WithWitness);

    private async Task KeepCheckpointsUpToAsync(long treeSize)
    {
        var bytes = await File.ReadAllBytesAsync(CheckpointFile);
        var kept = 0L;
        foreach (var end in CheckpointTamperingTests.RecordEnds(bytes))
        {
            var note = Encoding.UTF8.GetString(bytes, (int)kept + RecordFraming.HeaderSize, (int)(end - kept - RecordFraming.HeaderSize));
            if (SignedCheckpoint.Parse(note, out _)!.TreeSize > treeSize)
            {
                break;
            }

            kept = end;
        }

        await File.WriteAllBytesAsync(CheckpointFile, bytes[..(int)kept]);
    }

    [Fact]
    public async Task Every_checkpoint_the_store_signs_reaches_the_file_witness_and_verification_checks_against_it()
    {
        await CreateLogAsync();
        var held = await Witness.GetLatestAsync(TestLog.Origin);
        Assert.Equal(30, held!.TreeSize);

        var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier, [Witness]);
        Assert.True(result.IsValid, result.Message);
        Assert.Contains($"witness checkpoint(s) {WitnessFile} at tree size 30", result.Message);
    }

    [Fact]
    public async Task A_rollback_to_an_earlier_checkpoint_is_caught_by_the_witness_on_verify_and_on_open()
    {
        await CreateLogAsync();
        var ends = await Storage.FileAuditStoreTests.RecordEndsAsync(OnlySegment);
        await KeepCheckpointsUpToAsync(20);
        using (var segment = new FileStream(OnlySegment, FileMode.Open))
        {
            segment.SetLength(ends[19]);
        }

        // Inside the directory the log is indistinguishable from its own past.
        Assert.True((await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier)).IsValid);

        var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier, [Witness]);
        Assert.Equal(AuditVerificationFailure.MissingEntries, result.Failure);
        Assert.Contains($"the witness {WitnessFile} holds at tree size 30", result.Message);

        var error = await Assert.ThrowsAsync<AuditStoreException>(async () => await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer, WithWitness)));
        Assert.Contains("rolled back", error.Message);
    }

    [Fact]
    public async Task A_rewrite_re_signed_with_the_log_key_is_caught_by_the_witness_on_verify_and_on_open()
    {
        await CreateLogAsync();
        await CheckpointTamperingTests.RewriteAndRechainAsync(OnlySegment, 5);
        await ResignAsync();
        Assert.True((await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier)).IsValid);

        var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier, [Witness]);
        Assert.Equal(AuditVerificationFailure.RootMismatch, result.Failure);
        Assert.Contains($"the witness {WitnessFile}", result.Message);

        var error = await Assert.ThrowsAsync<AuditStoreException>(async () => await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer, WithWitness)));
        Assert.Contains("entries were rewritten", error.Message);
    }

    [Fact]
    public async Task Removed_checkpoints_are_caught_by_the_witness_even_when_the_entries_are_intact()
    {
        await CreateLogAsync();
        await KeepCheckpointsUpToAsync(20);

        var error = await Assert.ThrowsAsync<AuditStoreException>(async () => await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer, WithWitness)));
        Assert.Contains("checkpoints were removed", error.Message);
        var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier, [Witness]);
        Assert.Equal(AuditVerificationFailure.WitnessMismatch, result.Failure);
    }

    [Fact]
    public async Task The_file_witness_refuses_a_checkpoint_that_shrinks_or_forks_the_log_and_accepts_a_repeat()
    {
        await CreateLogAsync();
        var held = (await Witness.GetLatestAsync(TestLog.Origin))!;
        var witness = Witness;
        await witness.PublishAsync(held);

        var older = SignedCheckpoint.Sign(TestLog.Origin, 20, AuditHash.Zero, [_signer]);
        await Assert.ThrowsAsync<AuditStoreException>(async () => await witness.PublishAsync(older));
        var fork = SignedCheckpoint.Sign(TestLog.Origin, 30, AuditHash.Zero, [_signer]);
        var error = await Assert.ThrowsAsync<AuditStoreException>(async () => await witness.PublishAsync(fork));
        Assert.Contains("with another root", error.Message);
        Assert.Equal(held.NoteText, (await Witness.GetLatestAsync(TestLog.Origin))!.NoteText);
    }

    [Fact]
    public async Task A_witness_file_inside_the_store_directory_is_refused()
    {
        var options = TestLog.FileOptions(_dir.Path, _signer, o => o.Witnesses.Add(new FileAuditCheckpointWitness(_dir.Combine("witness.log"))));
        var problems = OptionsProblems.Of(await Assert.ThrowsAnyAsync<Exception>(async () => await FileAuditStore.OpenAsync(options)), typeof(FileAuditStoreOptions));
        Assert.Contains(problems, p => p.StartsWith("FileAuditStoreOptions.Witnesses: ", StringComparison.Ordinal) && p.Contains("inside the store directory", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_http_witness_posts_each_checkpoint_and_the_store_is_checked_against_what_it_returns()
    {
        var handler = new WitnessEndpoint();
        using var client = new HttpClient(handler);
        var witness = new HttpAuditCheckpointWitness(client, new Uri("https://witness.example/checkpoints"));
        await CheckpointTamperingTests.CreateLogAsync(_dir.Path, _signer, configure: o => o.Witnesses.Add(witness));

        Assert.Equal(30, SignedCheckpoint.Parse(handler.Notes[^1], out _)!.TreeSize);
        Assert.All(handler.ContentTypes, t => Assert.Equal("text/plain; charset=utf-8", t));
        Assert.Equal(30, (await witness.GetLatestAsync(TestLog.Origin))!.TreeSize);
        Assert.True((await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier, [witness])).IsValid);

        await KeepCheckpointsUpToAsync(20);
        await Assert.ThrowsAsync<AuditStoreException>(async () => await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer, o => o.Witnesses.Add(witness))));
    }

    [Fact]
    public async Task A_failing_witness_does_not_stop_appends_and_the_next_checkpoint_is_published()
    {
        var handler = new WitnessEndpoint();
        using var client = new HttpClient(handler);
        var witness = new HttpAuditCheckpointWitness(client, new Uri("https://witness.example/checkpoints"));
        await using (var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer, o => o.Witnesses.Add(witness))))
        {
            handler.Down = true;
            await TestLog.AppendManyAsync(store, 3);
            await store.CreateCheckpointAsync();
            handler.Down = false;
            await TestLog.AppendManyAsync(store, 2, start: 3);
        }

        Assert.Equal(5, SignedCheckpoint.Parse(handler.Notes[^1], out _)!.TreeSize);
    }

    [Fact]
    public async Task A_store_does_not_open_while_its_witness_cannot_be_read()
    {
        var handler = new WitnessEndpoint { Down = true };
        using var client = new HttpClient(handler);
        var witness = new HttpAuditCheckpointWitness(client, new Uri("https://witness.example/checkpoints"));
        var error = await Assert.ThrowsAsync<AuditStoreException>(async () => await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer, o => o.Witnesses.Add(witness))));
        Assert.Contains("HTTP 503", error.Message);
    }

    /// <summary>Signs checkpoints over the forged segment with the log's key, as an attacker holding the key would.</summary>
    private async Task ResignAsync()
    {
        File.Delete(CheckpointFile);
        var roots = new List<(long Size, AuditHash Root)>();
        await using (var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path)))
        {
            roots.AddRange(new long[] { 0, 10, 20, 30 }.Select(size => (size, store.GetRootHash(size))));
        }

        using var output = new MemoryStream();
        foreach (var (size, root) in roots)
        {
            var body = Encoding.UTF8.GetBytes(SignedCheckpoint.Sign(TestLog.Origin, size, root, [_signer]).NoteText);
            var frame = new byte[RecordFraming.HeaderSize + body.Length];
            body.CopyTo(frame, RecordFraming.HeaderSize);
            RecordFraming.Seal(frame);
            output.Write(frame);
        }

        await File.WriteAllBytesAsync(CheckpointFile, output.ToArray());
    }

    /// <summary>A witness endpoint speaking the documented protocol: POST stores a note, GET returns the newest.</summary>
    private sealed class WitnessEndpoint : HttpMessageHandler
    {
        public List<string> Notes { get; } = [];

        public List<string?> ContentTypes { get; } = [];

        public bool Down { get; set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Down)
            {
                return new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
            }

            if (request.Method == HttpMethod.Post)
            {
                ContentTypes.Add(request.Content!.Headers.ContentType?.ToString());
                Notes.Add(await request.Content.ReadAsStringAsync(cancellationToken));
                return new HttpResponseMessage(HttpStatusCode.OK);
            }

            Assert.Equal("?origin=" + Uri.EscapeDataString(TestLog.Origin), request.RequestUri!.Query);
            return Notes.Count == 0
                ? new HttpResponseMessage(HttpStatusCode.NotFound)
                : new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(Notes[^1]) };
        }
    }
}
