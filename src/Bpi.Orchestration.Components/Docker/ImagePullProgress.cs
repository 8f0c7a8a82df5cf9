namespace Bpi.Orchestration.Components.Docker;

/// <summary>One progress message of an image pull, as the engine reports it.</summary>
public sealed class ImagePullProgress
{
    /// <summary>The image being pulled, as the component names it.</summary>
    public required string Image { get; init; }

    /// <summary>The layer the message is about, when it is about one.</summary>
    public string? Layer { get; init; }

    /// <summary>What the engine says, for example <c>Downloading</c>, <c>Pull complete</c> or <c>Digest: sha256:…</c>.</summary>
    public required string Status { get; init; }

    /// <summary>Bytes done of the layer's current step, when reported.</summary>
    public long? Current { get; init; }

    /// <summary>Bytes in the layer's current step, when reported.</summary>
    public long? Total { get; init; }
}
