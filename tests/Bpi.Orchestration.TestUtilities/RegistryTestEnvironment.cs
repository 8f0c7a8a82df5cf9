namespace Bpi.Orchestration.TestUtilities;

/// <summary>
/// The local container registry the image-pull tests push to and pull from: Debian's docker-registry on a loopback port
/// with htpasswd auth, started by <c>.ci/engines/registry.sh</c>, which exports <c>BPI_REGISTRY</c> (host:port),
/// <c>BPI_REGISTRY_USER</c> and <c>BPI_REGISTRY_PASSWORD</c>. Tests skip when it is not configured, and fail instead when
/// <c>BPI_REQUIRE_REGISTRY=1</c>.
/// </summary>
public static class RegistryTestEnvironment
{
    /// <summary>The variable that makes an absent registry a failure: <c>BPI_REQUIRE_REGISTRY</c>.</summary>
    public const string RequireVariable = "BPI_REQUIRE_REGISTRY";

    /// <summary>Whether the registry is required (<c>BPI_REQUIRE_REGISTRY=1</c>).</summary>
    public static bool IsRequired => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>The registry's <c>host:port</c>, or <see langword="null"/> when not configured.</summary>
    public static string? Address => Environment.GetEnvironmentVariable("BPI_REGISTRY") is { Length: > 0 } address ? address : null;

    /// <summary>The htpasswd user.</summary>
    public static string User => Environment.GetEnvironmentVariable("BPI_REGISTRY_USER") ?? "";

    /// <summary>The htpasswd user's password.</summary>
    public static string Password => Environment.GetEnvironmentVariable("BPI_REGISTRY_PASSWORD") ?? "";

    /// <summary>The registry's address; skips the calling <c>[SkippableFact]</c> when it is not configured, or fails it when it is required.</summary>
    public static string Require()
    {
        if (Address is { } address && User.Length > 0)
        {
            return address;
        }

        var problem = "No test registry is configured (BPI_REGISTRY, BPI_REGISTRY_USER, BPI_REGISTRY_PASSWORD); run .ci/engines/registry.sh.";
        if (IsRequired)
        {
            throw new InvalidOperationException($"{RequireVariable}=1 but the registry tests cannot run: {problem}");
        }

        Xunit.Skip.If(true, problem);
        return "";
    }
}
