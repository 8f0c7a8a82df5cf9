using System.Security.Cryptography;
using System.Text;

namespace Bpi.Orchestration.Audit.Tests.Checkpoints;

public sealed class CheckpointTests
{
    private static readonly AuditHash Root = MerkleHasher.HashLeaf("root"u8);

    [Fact]
    public void A_signed_checkpoint_is_a_c2sp_signed_note_that_verifies_with_only_the_public_key()
    {
        using var signer = CheckpointSigner.Generate("example.com/audit");
        var checkpoint = SignedCheckpoint.Sign("example.com/log", 1234, Root, [signer]);

        var lines = checkpoint.NoteText.Split('\n');
        Assert.Equal("example.com/log", lines[0]);
        Assert.Equal("1234", lines[1]);
        Assert.Equal(Root.ToBase64(), lines[2]);
        Assert.Equal("", lines[3]);
        Assert.StartsWith("\u2014 example.com/audit ", lines[4]);
        Assert.Equal("", lines[5]);
        Assert.Equal(6, lines.Length);

        var verifier = new CheckpointVerifier([signer.VerifierKey]);
        Assert.True(verifier.TryVerify(checkpoint.NoteText, out var verified, out var error), error);
        Assert.Equal(1234, verified.TreeSize);
        Assert.Equal(Root, verified.RootHash);
        Assert.Equal("example.com/log", verified.Origin);
    }

    [Fact]
    public void The_key_id_is_the_first_four_bytes_of_sha256_over_the_der_public_key_and_prefixes_the_signature()
    {
        using var signer = CheckpointSigner.Generate("example.com/audit");
        var spki = signer.PublicKeyInfo;
        var expectedId = Convert.ToHexStringLower(SHA256.HashData(spki)[..4]);
        Assert.Equal($"example.com/audit+{expectedId}+{Convert.ToBase64String([0x02, .. spki])}", signer.VerifierKey);

        var checkpoint = SignedCheckpoint.Sign("o", 1, Root, [signer]);
        var signatureLine = checkpoint.NoteText.Split('\n')[4];
        var blob = Convert.FromBase64String(signatureLine.Split(' ')[2]);
        Assert.Equal(expectedId, Convert.ToHexStringLower(blob[..4]));
        using var publicKey = ECDsa.Create();
        publicKey.ImportSubjectPublicKeyInfo(spki, out _);
        Assert.True(publicKey.VerifyData(Encoding.UTF8.GetBytes($"o\n1\n{Root.ToBase64()}\n"), blob[4..], HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    [Fact]
    public void Any_change_to_the_note_text_makes_verification_fail()
    {
        using var signer = CheckpointSigner.Generate("example.com/audit");
        var verifier = new CheckpointVerifier([signer.VerifierKey]);
        var note = SignedCheckpoint.Sign("example.com/log", 1234, Root, [signer]).NoteText;
        var textLength = note.IndexOf("\n\n", StringComparison.Ordinal);
        for (var i = 0; i < textLength; i++)
        {
            var chars = note.ToCharArray();
            chars[i] = chars[i] == 'A' ? 'B' : 'A';
            Assert.False(verifier.TryVerify(new string(chars), out _, out _), $"a change at character {i} went unnoticed");
        }

        Assert.False(verifier.TryVerify(note.Replace("1234", "1235", StringComparison.Ordinal), out _, out var error));
        Assert.Contains("does not verify", error);
    }

    [Fact]
    public void Rotation_a_note_signed_by_old_and_new_keys_verifies_with_either_and_unknown_keys_are_ignored()
    {
        using var oldKey = CheckpointSigner.Generate("example.com/audit-2024");
        using var newKey = CheckpointSigner.Generate("example.com/audit-2025");
        using var stranger = CheckpointSigner.Generate("evil.example/key");
        var note = SignedCheckpoint.Sign("example.com/log", 10, Root, [oldKey, newKey]).NoteText;

        Assert.True(new CheckpointVerifier([oldKey.VerifierKey]).TryVerify(note, out _, out _));
        Assert.True(new CheckpointVerifier([newKey.VerifierKey]).TryVerify(note, out _, out _));
        Assert.True(new CheckpointVerifier([newKey.VerifierKey, stranger.VerifierKey]).TryVerify(note, out _, out _));
        Assert.False(new CheckpointVerifier([stranger.VerifierKey]).TryVerify(note, out _, out var error));
        Assert.Contains("No trusted key signed", error);
    }

    [Fact]
    public void A_bad_signature_from_a_trusted_key_rejects_the_note_even_when_another_trusted_key_signed()
    {
        using var a = CheckpointSigner.Generate("example.com/a");
        using var b = CheckpointSigner.Generate("example.com/b");
        var note = SignedCheckpoint.Sign("example.com/log", 10, Root, [a, b]).NoteText;
        var other = SignedCheckpoint.Sign("example.com/log", 11, Root, [b]).NoteText;
        var forgedLine = other.Split('\n')[4];
        var lines = note.Split('\n');
        lines[5] = forgedLine; // b's signature over a different text
        Assert.False(new CheckpointVerifier([a.VerifierKey, b.VerifierKey]).TryVerify(string.Join('\n', lines), out _, out var error));
        Assert.Contains("example.com/b", error);
    }

    [Fact]
    public void The_expected_origin_is_enforced()
    {
        using var signer = CheckpointSigner.Generate("example.com/audit");
        var note = SignedCheckpoint.Sign("example.com/other-log", 1, Root, [signer]).NoteText;
        Assert.False(new CheckpointVerifier([signer.VerifierKey], expectedOrigin: "example.com/log").TryVerify(note, out _, out var error));
        Assert.Contains("example.com/other-log", error);
    }

    [Fact]
    public void A_signer_round_trips_through_pem_and_keeps_its_key_id()
    {
        using var signer = CheckpointSigner.Generate("example.com/audit");
        using var restored = CheckpointSigner.FromPem("example.com/audit", signer.ExportPrivateKeyPem());
        Assert.Equal(signer.KeyId, restored.KeyId);
        Assert.Equal(signer.VerifierKey, restored.VerifierKey);
        var note = SignedCheckpoint.Sign("o", 3, Root, [restored]).NoteText;
        Assert.True(new CheckpointVerifier([signer.VerifierKey]).TryVerify(note, out _, out _));
    }

    [Fact]
    public void Malformed_notes_and_keys_are_rejected_with_a_reason()
    {
        using var signer = CheckpointSigner.Generate("example.com/audit");
        var verifier = new CheckpointVerifier([signer.VerifierKey]);
        Assert.False(verifier.TryVerify("no signatures\n", out _, out var error));
        Assert.Contains("malformed", error);
        Assert.False(verifier.TryVerify("o\n01\nAAAA\n\n\u2014 example.com/audit AAAAAAA=\n", out _, out error));
        Assert.Contains("malformed", error);

        var badKeys = Assert.Throws<ArgumentException>(() => new CheckpointVerifier(["nonsense", "name+0000000+AA==", signer.VerifierKey.Replace("+", "+0", StringComparison.Ordinal)]));
        Assert.Contains("nonsense", badKeys.Message);
        Assert.Throws<ArgumentException>(() => CheckpointSigner.Generate("has space"));
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Assert.Throws<ArgumentException>(() => CheckpointSigner.Create("example.com/a", p384));
    }
}
