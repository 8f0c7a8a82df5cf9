using Bpi.Orchestration.Resilience;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>
/// A failure reported by the Docker Engine, or a failure to reach it. <see cref="OrchestrationException.Kind"/> says
/// what went wrong (<see cref="OrchestrationErrorKind.NotFound"/> for HTTP 404, <see cref="OrchestrationErrorKind.Conflict"/>
/// for 409, <see cref="OrchestrationErrorKind.RuntimeUnavailable"/> for 5xx and connection failures, …);
/// <see cref="StatusCode"/> and <see cref="EngineMessage"/> carry what the engine said.
/// </summary>
public sealed class DockerEngineException : OrchestrationException
{
    private readonly bool _isTransient;

    internal DockerEngineException(
        OrchestrationErrorKind kind,
        string message,
        int? statusCode,
        string? engineMessage,
        string? resourceKind = null,
        bool isTransient = false,
        Exception? innerException = null)
        : base(kind, message, innerException)
    {
        StatusCode = statusCode;
        EngineMessage = engineMessage;
        ResourceKind = resourceKind;
        _isTransient = isTransient;
    }

    /// <summary>The HTTP status code the engine answered with, or <see langword="null"/> when it could not be reached or the call timed out.</summary>
    public int? StatusCode { get; }

    /// <summary>The engine's own message (the <c>message</c> field of its error body), or <see langword="null"/> when there was none.</summary>
    public string? EngineMessage { get; }

    /// <summary>The kind of engine resource the call was about (<c>container</c>, <c>image</c>, <c>network</c>, <c>volume</c>, <c>exec</c>), when known.</summary>
    public string? ResourceKind { get; }

    /// <summary>Whether retrying may succeed: the engine was unreachable or answered with a server error.</summary>
    public override bool IsTransient => _isTransient;

    /// <summary>
    /// The class of the engine's answer: an HTTP status the engine answered with decides (429 and 503 throttled, other
    /// 5xx transient), unless the engine said the request itself cannot run (<see cref="OrchestrationErrorKind.ContainerStartupFailed"/>).
    /// </summary>
    public override FaultClass FaultClass => StatusCode is { } code && Kind is OrchestrationErrorKind.RuntimeUnavailable or OrchestrationErrorKind.Unknown
        ? FaultClassifier.ClassifyStatus(code)
        : base.FaultClass;
}
