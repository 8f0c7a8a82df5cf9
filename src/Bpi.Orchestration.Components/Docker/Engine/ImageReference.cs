namespace Bpi.Orchestration.Components.Docker.Engine;

/// <summary>Reads the parts of an image reference (<c>[registry/]name[:tag][@digest]</c>) that pulls and credentials need.</summary>
internal static class ImageReference
{
    /// <summary>The registry host Docker Hub images come from, as the CLI names it.</summary>
    public const string DockerHub = "docker.io";

    /// <summary>The key the Docker CLI stores Docker Hub credentials under in <c>config.json</c>.</summary>
    public const string DockerHubConfigKey = "https://index.docker.io/v1/";

    /// <summary>The registry host of a reference: its first path component when it looks like a host (has a dot or a port, or is <c>localhost</c>), else Docker Hub.</summary>
    public static string RegistryHost(string reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var slash = reference.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return DockerHub;
        }

        var first = reference[..slash];
        return first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost" ? first : DockerHub;
    }

    /// <summary>Whether the reference pins a digest (<c>name@sha256:…</c>).</summary>
    public static bool IsDigestPinned(string reference) => reference.Contains('@', StringComparison.Ordinal);

    /// <summary>
    /// Splits a reference for <c>/images/create</c>: a digest-pinned reference is sent whole (the engine pulls exactly
    /// that manifest); otherwise the tag after the last colon of the last path component (default <c>latest</c>).
    /// </summary>
    public static (string Image, string? Tag) SplitForPull(string reference)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reference);
        if (IsDigestPinned(reference))
        {
            return (reference, null);
        }

        var lastSlash = reference.LastIndexOf('/');
        var colon = reference.LastIndexOf(':');
        return colon > lastSlash ? (reference[..colon], reference[(colon + 1)..]) : (reference, "latest");
    }
}
