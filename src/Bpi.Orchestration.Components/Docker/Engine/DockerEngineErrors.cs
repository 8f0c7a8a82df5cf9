using System.Net;
using System.Net.Sockets;

namespace Bpi.Orchestration.Components.Docker.Engine;

/// <summary>Maps engine answers and transport failures to <see cref="DockerEngineException"/>, and decides what is worth retrying.</summary>
internal static class DockerEngineErrors
{
    /// <summary>
    /// The retry predicate of the <c>bpi-orchestration-docker</c> pipeline: a 5xx answer or a failure to reach the engine.
    /// A container that cannot start (the OCI runtime refused it) is answered with 5xx by some engines but will fail
    /// the same way again, so it is not transient.
    /// </summary>
    public static bool IsTransientEngineFault(Exception exception) => exception is DockerEngineException { IsTransient: true };

    /// <summary>Builds the exception for an error answer (status ≥ 400).</summary>
    public static DockerEngineException FromResponse(HttpStatusCode status, string? engineMessage, string method, string path, string? resourceKind, string? resourceName, Exception? cause = null)
    {
        var code = (int)status;
        var what = DescribeResource(resourceKind, resourceName);
        var said = string.IsNullOrWhiteSpace(engineMessage) ? "" : $": {engineMessage.Trim()}";
        return code switch
        {
            404 => new DockerEngineException(
                OrchestrationErrorKind.NotFound,
                $"The Docker Engine has no {what}{said}. Check the name, or create it first.",
                code, engineMessage, resourceKind, innerException: cause),
            409 => new DockerEngineException(
                OrchestrationErrorKind.Conflict,
                $"The Docker Engine refused to {Verb(method)} {what} because it conflicts with the current state{said}.",
                code, engineMessage, resourceKind, innerException: cause),
            400 => new DockerEngineException(
                OrchestrationErrorKind.InvalidConfiguration,
                $"The Docker Engine rejected {method} {path} as invalid{said}. Fix the request (image, command or settings) and try again.",
                code, engineMessage, resourceKind, innerException: cause),
            401 or 403 => new DockerEngineException(
                OrchestrationErrorKind.Unauthorized,
                $"The Docker Engine refused {method} {path} (HTTP {code}){said}. Check the daemon's authorization plugins.",
                code, engineMessage, resourceKind, innerException: cause),
            >= 500 when IsPermanentServerError(engineMessage) => new DockerEngineException(
                OrchestrationErrorKind.ContainerStartupFailed,
                $"The Docker Engine could not run {what}{said}.",
                code, engineMessage, resourceKind, innerException: cause),
            >= 500 => new DockerEngineException(
                OrchestrationErrorKind.RuntimeUnavailable,
                $"The Docker Engine failed {method} {path} (HTTP {code}){said}. The call is retried; if it keeps failing, check the daemon's log.",
                code, engineMessage, resourceKind, isTransient: true, innerException: cause),
            _ => new DockerEngineException(
                OrchestrationErrorKind.Unknown,
                $"The Docker Engine answered {method} {path} with HTTP {code}{said}.",
                code, engineMessage, resourceKind, innerException: cause),
        };
    }

    /// <summary>Builds the exception for a request that never got an answer.</summary>
    public static DockerEngineException Unreachable(DockerEndpoint endpoint, string method, string path, Exception cause)
    {
        var detail = cause is HttpRequestException { InnerException: SocketException socket }
            ? socket.SocketErrorCode.ToString()
            : cause.InnerException?.Message ?? cause.Message;
        return new DockerEngineException(
            OrchestrationErrorKind.RuntimeUnavailable,
            $"Could not reach the Docker Engine at {endpoint} for {method} {path} ({detail}). Start dockerd, or point DOCKER_HOST / DockerRuntimeOptions.Host at a running engine.",
            statusCode: null, engineMessage: null, resourceKind: null, isTransient: true, innerException: cause);
    }

    public static DockerEngineException Timeout(DockerEndpoint endpoint, string method, string path, TimeSpan timeout) => new(
        OrchestrationErrorKind.Timeout,
        $"The Docker Engine at {endpoint} did not answer {method} {path} within {timeout.TotalSeconds:0.###} s. Raise DockerRuntimeOptions.RequestTimeout if the engine is slow.",
        statusCode: null, engineMessage: null);

    /// <summary>An image could not be pulled: names the image and what the registry (through the engine) answered.</summary>
    public static DockerEngineException PullFailed(string reference, string? registryAnswer, int? statusCode, Exception? cause)
    {
        var answer = string.IsNullOrWhiteSpace(registryAnswer) ? "no reason given" : registryAnswer.Trim();
        return new DockerEngineException(
            OrchestrationErrorKind.ImagePullFailed,
            $"Could not pull image '{reference}' from {ImageReference.RegistryHost(reference)}: {answer}. Check the image name and tag (or digest), and the registry credentials (~/.docker/config.json or DockerRuntimeOptions.RegistryCredentials).",
            statusCode, answer, "image", isTransient: false, innerException: cause);
    }

    public static DockerEngineException MalformedStream(string detail) => new(
        OrchestrationErrorKind.Unknown,
        $"The Docker Engine sent a malformed stream: {detail}.",
        statusCode: null, engineMessage: null);

    /// <summary>Whether an error answer says the API version we used is outside the engine's range ("client version 1.41 is too old…").</summary>
    public static bool IsVersionRejection(HttpStatusCode status, string? engineMessage) =>
        status == HttpStatusCode.BadRequest
        && engineMessage is not null
        && engineMessage.Contains("client version", StringComparison.OrdinalIgnoreCase)
        && (engineMessage.Contains("too old", StringComparison.OrdinalIgnoreCase) || engineMessage.Contains("too new", StringComparison.OrdinalIgnoreCase));

    private static bool IsPermanentServerError(string? engineMessage) =>
        engineMessage is not null
        && (engineMessage.Contains("OCI runtime", StringComparison.OrdinalIgnoreCase)
            || engineMessage.Contains("executable file not found", StringComparison.OrdinalIgnoreCase)
            || engineMessage.Contains("starting container process", StringComparison.OrdinalIgnoreCase));

    private static string DescribeResource(string? kind, string? name) => (kind, name) switch
    {
        (null, null) => "such object",
        (null, _) => $"object '{name}'",
        (_, null) => kind,
        _ => $"{kind} '{name}'",
    };

    private static string Verb(string method) => method switch
    {
        "DELETE" => "remove",
        "PUT" => "update",
        _ => "change",
    };
}
