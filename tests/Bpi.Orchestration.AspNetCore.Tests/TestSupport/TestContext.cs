using System.Text.Json.Nodes;

namespace Bpi.Orchestration.AspNetCore.Tests.TestSupport;

internal static class TestContext
{
    /// <summary>A generous deadline for a condition that holds within milliseconds on the in-memory runtime.</summary>
    public static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    public static async Task<JsonObject> GetFromJsonObjectAsync(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode}: {text}");
        return (JsonObject)JsonNode.Parse(text)!;
    }
}
