using System.Text.Json;

namespace Bpi.Orchestration.Audit.Tests.Merkle;

/// <summary>Loads our copy of the transparency-dev/merkle vectors (TestData/Merkle).</summary>
internal static class MerkleVectors
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "TestData", "Merkle");

    public static JsonElement Rfc6962 { get; } = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "rfc6962-vectors.json"))).RootElement;

    public static IReadOnlyList<JsonElement> InclusionProbes { get; } = Lines("inclusion-probes.jsonl");

    public static IReadOnlyList<JsonElement> ConsistencyProbes { get; } = Lines("consistency-probes.jsonl");

    public static byte[][] LeafInputs => [.. Rfc6962.GetProperty("leafInputs").EnumerateArray().Select(e => Convert.FromHexString(e.GetString()!))];

    public static byte[] B64(JsonElement element) => Convert.FromBase64String(element.GetString()!);

    public static byte[][] Proof(JsonElement probe) => [.. probe.GetProperty("proof").EnumerateArray().Select(B64)];

    private static List<JsonElement> Lines(string name) =>
        [.. File.ReadAllLines(Path.Combine(Folder, name)).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement)];
}
