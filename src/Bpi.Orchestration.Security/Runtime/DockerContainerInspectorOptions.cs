namespace Bpi.Orchestration.Security.Runtime;

/// <summary>Where the Docker container inspector finds the engine.</summary>
public sealed class DockerContainerInspectorOptions
{
    /// <summary>
    /// The engine's address, <c>unix:///path/to/docker.sock</c> or <c>tcp://host:port</c> (plain HTTP; for a TLS-protected
    /// engine, register your own <see cref="IContainerInspector"/>); <see langword="null"/> uses <c>DOCKER_HOST</c>, else
    /// <c>unix:///var/run/docker.sock</c>.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Host { get; set; }

    /// <summary>How long one engine request may take.</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
