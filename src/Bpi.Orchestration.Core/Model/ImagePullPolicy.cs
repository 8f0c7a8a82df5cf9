namespace Bpi.Orchestration;

/// <summary>When a container runtime pulls a component's image from its registry.</summary>
public enum ImagePullPolicy
{
    /// <summary>Pull only when the engine does not have the image (a digest-pinned reference is then exactly that image).</summary>
    IfNotPresent = 0,

    /// <summary>Pull every time instances are created, so a moved tag is followed.</summary>
    Always = 1,

    /// <summary>Never pull: an image the engine does not have fails the deployment with <see cref="OrchestrationErrorKind.ImagePullFailed"/>.</summary>
    Never = 2,
}
