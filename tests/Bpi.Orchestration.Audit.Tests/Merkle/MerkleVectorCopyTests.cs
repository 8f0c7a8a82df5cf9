using System.Text.Json;

namespace Bpi.Orchestration.Audit.Tests.Merkle;

/// <summary>Our copy of the probes must say exactly what the original transparency-dev/merkle files say.</summary>
public sealed class MerkleVectorCopyTests
{
    [SkippableFact]
    public void The_probe_copy_matches_the_shared_reference_files()
    {
        var root = FindReference();
        Skip.If(root is null && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase),
            "shared/reference/merkle-testdata is not beside the clone; the copy in TestData/Merkle is still tested.");
        Assert.True(root is not null, "CI must have shared/reference/merkle-testdata beside the clone.");

        foreach (var (kind, copy) in new[] { ("inclusion", MerkleVectors.InclusionProbes), ("consistency", MerkleVectors.ConsistencyProbes) })
        {
            var files = Directory.GetFiles(Path.Combine(root!, "testdata", kind), "*.json", SearchOption.AllDirectories);
            Assert.Equal(files.Length, copy.Count);
            foreach (var file in files)
            {
                var name = Path.GetRelativePath(Path.Combine(root!, "testdata", kind), file).Replace('\\', '/');
                var original = JsonDocument.Parse(File.ReadAllText(file)).RootElement;
                var ours = copy.Single(p => p.GetProperty("probe").GetString() == name);
                Assert.Equal(!original.GetProperty("wantErr").GetBoolean(), ours.GetProperty("valid").GetBoolean());
                var originalProof = original.GetProperty("proof").ValueKind == JsonValueKind.Null ? [] : original.GetProperty("proof").EnumerateArray().Select(e => e.GetString()).ToList();
                Assert.Equal(originalProof, ours.GetProperty("proof").EnumerateArray().Select(e => e.GetString()).ToList());
                var pairs = kind == "inclusion"
                    ? new[] { ("leafIdx", "index"), ("treeSize", "size"), ("root", "root"), ("leafHash", "leaf") }
                    : new[] { ("size1", "size1"), ("size2", "size2"), ("root1", "root1"), ("root2", "root2") };
                foreach (var (theirs, mine) in pairs)
                {
                    Assert.Equal(original.GetProperty(theirs).ToString(), ours.GetProperty(mine).ToString());
                }
            }
        }
    }

    private static string? FindReference()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            foreach (var candidate in new[] { Path.Combine(directory.FullName, "shared", "reference", "merkle-testdata"), Path.Combine(directory.FullName, "..", "shared", "reference", "merkle-testdata") })
            {
                if (Directory.Exists(Path.Combine(candidate, "testdata")))
                {
                    return Path.GetFullPath(candidate);
                }
            }
        }

        return null;
    }
}
