using Xunit;

namespace Bpi.Orchestration.TestUtilities;

/// <summary>
/// Whether a Chromium browser is there for the browser tests (<c>BPI_CHROMIUM</c>, set by <c>.ci/engines/chromium.sh</c>,
/// else <c>/usr/bin/chromium</c>). Without one those tests skip with a clear message — unless
/// <c>BPI_REQUIRE_CHROMIUM=1</c>, which turns the skip into a failure so CI can never pass by skipping.
/// </summary>
public static class ChromiumTestEnvironment
{
    /// <summary>The variable that makes an absent browser a failure: <c>BPI_REQUIRE_CHROMIUM</c>.</summary>
    public const string RequireVariable = "BPI_REQUIRE_CHROMIUM";

    /// <summary>The variable holding the browser's path: <c>BPI_CHROMIUM</c>.</summary>
    public const string PathVariable = "BPI_CHROMIUM";

    /// <summary>Whether the browser is required (<c>BPI_REQUIRE_CHROMIUM=1</c>).</summary>
    public static bool IsRequired => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>The browser's path, or <see langword="null"/> when none is found.</summary>
    public static string? Executable
    {
        get
        {
            if (Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } configured)
            {
                return File.Exists(configured) ? configured : null;
            }

            return new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);
        }
    }

    /// <summary>The browser's path; skips the calling <c>[SkippableFact]</c> without one, or fails it when the browser is required.</summary>
    public static string RequireBrowser()
    {
        if (Executable is { } path)
        {
            return path;
        }

        var problem = Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } configured
            ? $"{PathVariable}='{configured}' does not exist."
            : $"No Chromium browser found ({PathVariable} is not set and /usr/bin/chromium does not exist); run `source .ci/engines/chromium.sh`.";
        if (IsRequired)
        {
            throw new InvalidOperationException($"{RequireVariable}=1 but the browser tests cannot run: {problem}");
        }

        Skip.If(true, $"{problem} Set {RequireVariable}=1 to make this a failure.");
        return "";
    }
}
