using System.Globalization;

namespace Bpi.Orchestration.Components.Docker.Engine;

/// <summary>A Docker Engine API version, <c>major.minor</c> (for example 1.41), ordered numerically.</summary>
internal readonly record struct DockerApiVersion(int Major, int Minor) : IComparable<DockerApiVersion>
{
    /// <summary>The oldest Engine API this SDK speaks: Docker 20.10, as shipped by Debian 12.</summary>
    public static DockerApiVersion MinimumSupported { get; } = new(1, 41);

    /// <summary>The newest Engine API this SDK speaks (Docker 27); newer engines are spoken to at this version.</summary>
    public static DockerApiVersion MaximumSupported { get; } = new(1, 47);

    public static bool TryParse(string? text, out DockerApiVersion version)
    {
        version = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var span = text.AsSpan().Trim();
        if (span.Length > 0 && (span[0] == 'v' || span[0] == 'V'))
        {
            span = span[1..];
        }

        var dot = span.IndexOf('.');
        if (dot <= 0
            || !int.TryParse(span[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            || !int.TryParse(span[(dot + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var minor))
        {
            return false;
        }

        version = new DockerApiVersion(major, minor);
        return true;
    }

    public static DockerApiVersion Min(DockerApiVersion left, DockerApiVersion right) => left.CompareTo(right) <= 0 ? left : right;

    public int CompareTo(DockerApiVersion other) => Major != other.Major ? Major.CompareTo(other.Major) : Minor.CompareTo(other.Minor);

    public static bool operator <(DockerApiVersion left, DockerApiVersion right) => left.CompareTo(right) < 0;

    public static bool operator >(DockerApiVersion left, DockerApiVersion right) => left.CompareTo(right) > 0;

    public static bool operator <=(DockerApiVersion left, DockerApiVersion right) => left.CompareTo(right) <= 0;

    public static bool operator >=(DockerApiVersion left, DockerApiVersion right) => left.CompareTo(right) >= 0;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Major}.{Minor}");
}
