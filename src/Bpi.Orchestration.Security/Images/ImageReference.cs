using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Bpi.Orchestration.Security.Images;

/// <summary>
/// A container image reference, normalised as Docker does: no registry means <c>docker.io</c> (and
/// <c>index.docker.io</c> is <c>docker.io</c>), and a single-name Docker Hub repository lives under <c>library/</c>.
/// </summary>
public sealed partial record ImageReference
{
    /// <summary>Docker Hub's registry name.</summary>
    public const string DockerHub = "docker.io";

    /// <summary>The registry host (with port), lower case, for example <c>docker.io</c> or <c>registry.example.com:5000</c>.</summary>
    public required string Registry { get; init; }

    /// <summary>The repository path inside the registry, for example <c>library/nginx</c>.</summary>
    public required string Repository { get; init; }

    /// <summary>The tag, or <see langword="null"/> when the reference has none (Docker then uses <c>latest</c>).</summary>
    public string? Tag { get; init; }

    /// <summary>The digest (<c>sha256:</c> and 64 hex digits), or <see langword="null"/> when not pinned.</summary>
    public string? Digest { get; init; }

    /// <summary>The registry and repository, for example <c>docker.io/library/nginx</c>.</summary>
    public string Name => Registry + "/" + Repository;

    /// <summary>Whether the reference is pinned by digest.</summary>
    public bool IsPinned => Digest is not null;

    /// <summary>Whether the reference names the moving tag <c>latest</c>, explicitly or by having no tag and no digest.</summary>
    public bool IsLatest => string.Equals(Tag, "latest", StringComparison.Ordinal) || (Tag is null && Digest is null);

    /// <summary>Parses a reference.</summary>
    /// <param name="reference">The reference, for example <c>nginx:1.25</c> or <c>ghcr.io/org/app@sha256:…</c>.</param>
    /// <param name="image">The parsed reference.</param>
    /// <returns>Whether the reference is well-formed.</returns>
    public static bool TryParse(string? reference, [NotNullWhen(true)] out ImageReference? image)
    {
        image = null;
        if (string.IsNullOrWhiteSpace(reference))
        {
            return false;
        }

        var text = reference.Trim();
        string? digest = null;
        var at = text.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = text[(at + 1)..];
            text = text[..at];
            if (!DigestPattern().IsMatch(digest))
            {
                return false;
            }

            digest = digest.ToLowerInvariant();
        }

        string? tag = null;
        var lastSlash = text.LastIndexOf('/');
        var colon = text.LastIndexOf(':');
        if (colon > lastSlash)
        {
            tag = text[(colon + 1)..];
            text = text[..colon];
            if (!TagPattern().IsMatch(tag))
            {
                return false;
            }
        }

        var firstSlash = text.IndexOf('/', StringComparison.Ordinal);
        string registry;
        string repository;
        if (firstSlash > 0 && (text[..firstSlash].Contains('.', StringComparison.Ordinal) || text[..firstSlash].Contains(':', StringComparison.Ordinal) || text[..firstSlash] == "localhost"))
        {
            registry = text[..firstSlash].ToLowerInvariant();
            repository = text[(firstSlash + 1)..];
        }
        else
        {
            registry = DockerHub;
            repository = text;
        }

        if (registry is "index.docker.io" or "registry-1.docker.io")
        {
            registry = DockerHub;
        }

        if (registry == DockerHub && !repository.Contains('/', StringComparison.Ordinal))
        {
            repository = "library/" + repository;
        }

        if (!RepositoryPattern().IsMatch(repository))
        {
            return false;
        }

        image = new ImageReference { Registry = registry, Repository = repository, Tag = tag, Digest = digest };
        return true;
    }

    /// <summary>Parses a reference or throws.</summary>
    /// <param name="reference">The reference.</param>
    /// <returns>The parsed reference.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: the reference is malformed.</exception>
    public static ImageReference Parse(string reference)
        => TryParse(reference, out var image)
            ? image
            : throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"'{reference}' is not a valid image reference; use [registry/]repository[:tag][@sha256:digest].");

    /// <summary>
    /// Whether this image is covered by an allowlist entry: a registry host (<c>ghcr.io</c>, matching any repository in it) or
    /// a repository prefix (<c>docker.io/library</c>, <c>nginx</c>), normalised the same way as references.
    /// </summary>
    /// <param name="entry">The allowlist entry.</param>
    /// <returns>Whether the entry allows this image.</returns>
    public bool IsAllowedBy(string entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var trimmed = entry.Trim().TrimEnd('/');
        if (trimmed.Length == 0)
        {
            return false;
        }

        if (!trimmed.Contains('/', StringComparison.Ordinal) && (trimmed.Contains('.', StringComparison.Ordinal) || trimmed.Contains(':', StringComparison.Ordinal) || trimmed == "localhost"))
        {
            var host = trimmed.ToLowerInvariant();
            host = host is "index.docker.io" or "registry-1.docker.io" ? DockerHub : host;
            return string.Equals(Registry, host, StringComparison.Ordinal);
        }

        var slash = trimmed.IndexOf('/', StringComparison.Ordinal);
        var first = slash > 0 ? trimmed[..slash] : "";
        var explicitRegistry = first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost";
        var registry = explicitRegistry ? first.ToLowerInvariant() : DockerHub;
        registry = registry is "index.docker.io" or "registry-1.docker.io" ? DockerHub : registry;
        var path = explicitRegistry ? trimmed[(slash + 1)..] : trimmed;
        if (registry == DockerHub && !path.Contains('/', StringComparison.Ordinal) && path != "library")
        {
            path = "library/" + path;
        }

        var prefixName = registry + "/" + path;
        return string.Equals(Name, prefixName, StringComparison.Ordinal) || Name.StartsWith(prefixName + "/", StringComparison.Ordinal);
    }

    /// <inheritdoc />
    public override string ToString() => Name + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);

    [GeneratedRegex("^sha256:[0-9a-fA-F]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex DigestPattern();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex TagPattern();

    [GeneratedRegex("^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex RepositoryPattern();
}
