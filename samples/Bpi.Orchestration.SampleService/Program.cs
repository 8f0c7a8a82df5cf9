// A minimal service to deploy and roll out in demos and end-to-end tests. Everything is set through the environment:
//   SAMPLE_VERSION       what /version reports (default "1.0.0")
//   SAMPLE_ERROR_RATE    0-1: the probability that /work answers 500 (default 0)
//   SAMPLE_LATENCY_MS    added latency of /work in milliseconds (default 0)
//   SAMPLE_FAIL_HEALTH   "true": /health answers 503
// It listens where ASPNETCORE_URLS says, or on http://127.0.0.1:$PORT, or on http://127.0.0.1:8080.
using System.Globalization;
using Bpi.Orchestration.SampleService;

var settings = SampleSettings.FromEnvironment(Environment.GetEnvironmentVariable);
var builder = WebApplication.CreateSlimBuilder(args);
if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ASPNETCORE_URLS")))
{
    var port = Environment.GetEnvironmentVariable("PORT") is { Length: > 0 } p ? p : "8080";
    builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
}

builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
var app = builder.Build();
var instance = Environment.GetEnvironmentVariable("BPI_INSTANCE_ID") ?? Environment.MachineName;

app.MapGet("/health", () => settings.FailHealth
    ? Results.Text("unhealthy\n", statusCode: StatusCodes.Status503ServiceUnavailable)
    : Results.Text("healthy\n"));

app.MapGet("/version", () => Results.Text($"{settings.Version} {instance}\n"));

app.MapGet("/work", async (CancellationToken cancellationToken) =>
{
    if (settings.Latency > TimeSpan.Zero)
    {
        await Task.Delay(settings.Latency, cancellationToken);
    }

    return Random.Shared.NextDouble() < settings.ErrorRate
        ? Results.Text($"error from {settings.Version} {instance}\n", statusCode: StatusCodes.Status500InternalServerError)
        : Results.Text($"ok from {settings.Version} {instance}\n");
});

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sample service {settings.Version} ({instance}) starting: error rate {settings.ErrorRate}, latency {settings.Latency.TotalMilliseconds} ms, health {(settings.FailHealth ? "failing" : "ok")}"));
app.Run();

namespace Bpi.Orchestration.SampleService
{
    /// <summary>The sample service's settings, read from environment variables.</summary>
    internal sealed record SampleSettings(string Version, double ErrorRate, TimeSpan Latency, bool FailHealth)
    {
        public static SampleSettings FromEnvironment(Func<string, string?> get)
        {
            var version = get("SAMPLE_VERSION") is { Length: > 0 } v ? v : "1.0.0";
            var errorRate = double.TryParse(get("SAMPLE_ERROR_RATE"), NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) ? Math.Clamp(rate, 0, 1) : 0;
            var latency = int.TryParse(get("SAMPLE_LATENCY_MS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) && ms > 0 ? TimeSpan.FromMilliseconds(ms) : TimeSpan.Zero;
            var failHealth = bool.TryParse(get("SAMPLE_FAIL_HEALTH"), out var fail) && fail;
            return new SampleSettings(version, errorRate, latency, failHealth);
        }
    }
}
