using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

/// <summary>
/// A state directory written before the CLI used Core's <c>FileDeploymentStore</c> still loads: a record in the format
/// of 2026-12-05 (strategy specs by name, <c>TestData/record-by-name.json</c>) and one in the older format naming them by
/// .NET type (<c>record-v1.json</c>, shared with Strategies.Tests).
/// </summary>
public sealed class StoredRecordFormatTests : IDisposable
{
    private const string Id = "web-12345678";
    private readonly CliSandbox _cli = new();

    public void Dispose() => _cli.Dispose();

    [Theory]
    [InlineData("record-by-name.json")]
    [InlineData("record-v1.json")]
    public async Task A_record_in_an_earlier_cli_state_directory_is_read_by_status_and_list(string fixture)
    {
        var deployments = Path.Combine(_cli.StateDir, "deployments");
        Directory.CreateDirectory(deployments);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "TestData", fixture), Path.Combine(deployments, Id + ".json"));

        var status = await _cli.RunAsync("status", "-d", Id, "--output", "json");
        var list = await _cli.RunAsync("list-deployments", "--output", "json");

        Assert.True(status.ExitCode == ExitCodes.Success, status.ToString());
        Assert.Equal(Id, status.Json.GetProperty("id").GetString());
        Assert.Equal("web", status.Json.GetProperty("name").GetString());
        Assert.True(list.ExitCode == ExitCodes.Success, list.ToString());
        Assert.Contains(list.Json.GetProperty("deployments").EnumerateArray(), d => d.GetProperty("id").GetString() == Id);
        Assert.DoesNotContain("skipped", list.Error, StringComparison.Ordinal);
    }
}
