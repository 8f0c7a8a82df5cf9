using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// A checkpoint (C2SP tlog-checkpoint): the log's origin, its tree size and root hash, as a signed note
/// (C2SP signed-note) — the text
/// <code>
/// &lt;origin&gt;\n&lt;tree size&gt;\n&lt;base64 root hash&gt;\n
/// </code>
/// then a blank line and one line <c>— &lt;key name&gt; &lt;base64(key id ‖ signature)&gt;</c> per signer.
/// Obtained from a store or from <see cref="CheckpointVerifier.TryVerify"/>; only the latter means its signatures were checked.
/// </summary>
public sealed class SignedCheckpoint
{
    private SignedCheckpoint(string origin, long treeSize, AuditHash rootHash, string noteText, IReadOnlyList<NoteSignature> signatures)
    {
        Origin = origin;
        TreeSize = treeSize;
        RootHash = rootHash;
        NoteText = noteText;
        Signatures = signatures;
    }

    /// <summary>The log's origin line.</summary>
    public string Origin { get; }

    /// <summary>The number of entries the checkpoint covers.</summary>
    public long TreeSize { get; }

    /// <summary>The RFC 9162 root hash of the first <see cref="TreeSize"/> entries.</summary>
    public AuditHash RootHash { get; }

    /// <summary>The complete signed note, exactly as signed (text, blank line, signature lines).</summary>
    public string NoteText { get; }

    /// <summary>The key of every signature line, as <c>name+keyid</c> (hex), in the order of the note.</summary>
    public IReadOnlyList<string> SignatureKeys => [.. Signatures.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.KeyName}+{s.KeyId:x8}"))];

    internal IReadOnlyList<NoteSignature> Signatures { get; }

    /// <inheritdoc />
    public override string ToString() => NoteText;

    internal static SignedCheckpoint Sign(string origin, long treeSize, AuditHash rootHash, IReadOnlyList<CheckpointSigner> signers)
    {
        if (signers.Count == 0)
        {
            throw new AuditStoreException("A checkpoint needs at least one signer; add a CheckpointSigner to the store options.");
        }

        var text = string.Create(CultureInfo.InvariantCulture, $"{origin}\n{treeSize}\n{rootHash.ToBase64()}\n");
        var textBytes = Encoding.UTF8.GetBytes(text);
        var note = new StringBuilder(text).Append('\n');
        foreach (var signer in signers)
        {
            note.Append(signer.SignatureLine(textBytes));
        }

        return Parse(note.ToString(), out var error) ?? throw new InvalidOperationException("A checkpoint this library signed does not parse: " + error);
    }

    /// <summary>Parses the structure of a signed checkpoint without checking any signature.</summary>
    internal static SignedCheckpoint? Parse(string note, out string? error)
    {
        error = null;
        if (note.Length > 1_000_000)
        {
            error = "the note is larger than 1 MB";
            return null;
        }

        foreach (var c in note)
        {
            if (c < 0x20 && c != '\n')
            {
                error = "the note contains a control character other than newline";
                return null;
            }
        }

        var split = note.LastIndexOf("\n\n", StringComparison.Ordinal);
        if (split < 0 || !note.EndsWith('\n'))
        {
            error = "the note has no blank line before its signatures, or does not end with a newline";
            return null;
        }

        var text = note[..(split + 1)];
        var signatureBlock = note[(split + 2)..];
        var signatures = new List<NoteSignature>();
        foreach (var line in signatureBlock[..^1].Split('\n'))
        {
            if (signatures.Count >= 100)
            {
                error = "the note carries more than 100 signatures";
                return null;
            }

            var signature = NoteSignature.Parse(line);
            if (signature is null)
            {
                error = $"the signature line '{line}' is not '— <key name> <base64>' with at least a 4-byte key id";
                return null;
            }

            signatures.Add(signature);
        }

        if (signatures.Count == 0)
        {
            error = "the note has no signature lines";
            return null;
        }

        var lines = text[..^1].Split('\n');
        if (lines.Length < 3)
        {
            error = "a checkpoint has at least three lines: origin, tree size and root hash";
            return null;
        }

        if (lines[0].Length == 0)
        {
            error = "the origin line is empty";
            return null;
        }

        var sizeText = lines[1];
        if (sizeText.Length == 0 || sizeText.Length > 19 || !sizeText.All(char.IsAsciiDigit) || (sizeText.Length > 1 && sizeText[0] == '0')
            || !long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out var treeSize))
        {
            error = $"the tree size '{sizeText}' is not a decimal number without leading zeros";
            return null;
        }

        if (!AuditHash.TryFromBase64(lines[2], out var root))
        {
            error = "the root hash line is not the base64 of 32 bytes";
            return null;
        }

        return new SignedCheckpoint(lines[0], treeSize, root, note, signatures);
    }

    internal ReadOnlySpan<char> Text => NoteText.AsSpan(0, NoteText.LastIndexOf("\n\n", StringComparison.Ordinal) + 1);
}

/// <summary>One signature line of a signed note.</summary>
internal sealed record NoteSignature(string KeyName, uint KeyId, byte[] Signature)
{
    public static NoteSignature? Parse(string line)
    {
        if (!line.StartsWith("\u2014 ", StringComparison.Ordinal))
        {
            return null;
        }

        var rest = line[2..];
        var space = rest.LastIndexOf(' ');
        if (space <= 0)
        {
            return null;
        }

        var name = rest[..space];
        if (!CheckpointSigner.IsValidKeyName(name))
        {
            return null;
        }

        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(rest[(space + 1)..]);
        }
        catch (FormatException)
        {
            return null;
        }

        if (blob.Length < 5)
        {
            return null;
        }

        return new NoteSignature(name, BinaryPrimitives.ReadUInt32BigEndian(blob), blob[4..]);
    }
}
