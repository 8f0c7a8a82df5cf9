namespace Bpi.Orchestration.Components.Docker;

/// <summary>
/// Images on the Docker Engine without a registry: whether one is there, and importing a root filesystem as one (what
/// <c>docker import</c> does) — for hosts, demos and tests that build their images locally. Registered by
/// <c>AddDocker()</c>; the <see cref="IDockerWorkloadRuntime"/> is one.
/// </summary>
public interface IDockerImageImporter
{
    /// <summary>Whether the engine has an image of that reference.</summary>
    /// <param name="reference">The image, <c>repository:tag</c> or an id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when it is there.</returns>
    /// <exception cref="DockerEngineException"><see cref="OrchestrationErrorKind.RuntimeUnavailable"/>: no engine answers.</exception>
    ValueTask<bool> ImageExistsAsync(string reference, CancellationToken cancellationToken = default);

    /// <summary>
    /// Imports a root filesystem tarball as <paramref name="repository"/>:<paramref name="tag"/>, applying Dockerfile
    /// <paramref name="changes"/> (<c>CMD</c>, <c>ENTRYPOINT</c>, <c>ENV</c>, <c>EXPOSE</c>, <c>USER</c>,
    /// <c>WORKDIR</c>, <c>HEALTHCHECK</c>, …). The stream is read to its end and not disposed.
    /// </summary>
    /// <param name="rootFilesystemTar">The tarball of the root filesystem.</param>
    /// <param name="repository">The image's repository, for example <c>my-app/service</c>.</param>
    /// <param name="tag">The image's tag.</param>
    /// <param name="changes">Dockerfile instructions to apply, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the import.</param>
    /// <returns>The new image's id.</returns>
    /// <exception cref="DockerEngineException">The engine refused the import or could not be reached.</exception>
    ValueTask<string> ImportImageAsync(Stream rootFilesystemTar, string repository, string tag, IEnumerable<string>? changes = null, CancellationToken cancellationToken = default);
}
