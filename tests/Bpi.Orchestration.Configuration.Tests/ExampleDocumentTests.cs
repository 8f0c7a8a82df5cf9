using System.Reflection;

namespace Bpi.Orchestration.Configuration.Tests;

public sealed class ExampleDocumentTests
{
    private static string RepositoryRoot => typeof(ExampleDocumentTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;

    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(RepositoryRoot, "samples"), "*.*", SearchOption.AllDirectories)
                     .Where(f => f.Contains($"{Path.DirectorySeparatorChar}examples{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && (f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal))))
        {
            data.Add(Path.GetRelativePath(RepositoryRoot, file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Every_example_config_in_the_repository_loads(string relativePath)
    {
        var path = Path.Combine(RepositoryRoot, relativePath);

        var spec = DeploymentDocument.Parse(File.ReadAllText(path), DeploymentDocument.FormatOf(path), relativePath);

        Assert.NotEmpty(spec.Components);
    }
}
