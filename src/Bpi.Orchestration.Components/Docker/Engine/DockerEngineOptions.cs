namespace Bpi.Orchestration.Components.Docker.Engine;

/// <summary>What <see cref="DockerEngine"/> needs; derived from <see cref="DockerRuntimeOptions"/>.</summary>
internal sealed record DockerEngineOptions
{
    public required DockerEndpoint Endpoint { get; init; }

    /// <summary>The per-call timeout of non-streaming calls (streams run until cancelled).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries of a call that failed transiently (5xx, connection failure); 0 disables retries.</summary>
    public int MaxRetryAttempts { get; init; } = 3;

    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The newest API version the client will speak; lowered only by tests to simulate older SDKs.</summary>
    public DockerApiVersion MaximumApiVersion { get; init; } = DockerApiVersion.MaximumSupported;

    public static DockerEngineOptions From(DockerRuntimeOptions options, Func<string, string?>? getEnvironmentVariable = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new DockerEngineOptions
        {
            Endpoint = DockerEndpoint.Resolve(options.Host, getEnvironmentVariable),
            RequestTimeout = options.RequestTimeout,
            MaxRetryAttempts = options.MaxRetryAttempts,
            RetryBaseDelay = options.RetryBaseDelay,
        };
    }
}
