using System.ComponentModel.DataAnnotations;
using System.Net.Sockets;

namespace Bpi.Orchestration.Resilience;

/// <summary>
/// The one classification of failures for every runtime, router and metric-provider call (the taxonomy of seed 004:
/// transient, throttled, permanent, unknown). Circuit breakers count only <see cref="FaultClass.Transient"/> and
/// <see cref="FaultClass.Throttled"/> failures: a permanent failure means the target answered.
/// </summary>
public static class FaultClassifier
{
    /// <summary>Classifies a failure: an <see cref="OrchestrationException"/> by its <see cref="OrchestrationException.FaultClass"/>, HTTP failures by their status code, network failures and timeouts as transient.</summary>
    /// <param name="exception">The failure.</param>
    /// <returns>Its class.</returns>
    public static FaultClass Classify(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            OrchestrationException orchestration => orchestration.FaultClass,
            _ => ClassifyForeign(exception),
        };
    }

    /// <summary>Classifies an HTTP status code: 429 and 503 are throttled, 408 and other 5xx transient, other 4xx permanent.</summary>
    /// <param name="statusCode">The status code of the answer.</param>
    /// <returns>Its class; <see cref="FaultClass.Unknown"/> for a code that is not an error.</returns>
    public static FaultClass ClassifyStatus(int statusCode) => statusCode switch
    {
        429 or 503 => FaultClass.Throttled,
        408 => FaultClass.Transient,
        >= 500 and < 600 => FaultClass.Transient,
        >= 400 and < 500 => FaultClass.Permanent,
        _ => FaultClass.Unknown,
    };

    /// <summary>The class of an <see cref="OrchestrationException"/> from what it carries: an HTTP status in its causes, else its kind.</summary>
    internal static FaultClass ClassifyOrchestration(OrchestrationException exception)
    {
        for (var inner = exception.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is HttpRequestException { StatusCode: { } status })
            {
                return ClassifyStatus((int)status);
            }
        }

        return exception.Kind switch
        {
            OrchestrationErrorKind.RuntimeUnavailable or OrchestrationErrorKind.Timeout => FaultClass.Transient,
            OrchestrationErrorKind.InvalidConfiguration or OrchestrationErrorKind.NotFound or OrchestrationErrorKind.Conflict
                or OrchestrationErrorKind.Unauthorized or OrchestrationErrorKind.SecurityValidationFailed
                or OrchestrationErrorKind.InsufficientResources or OrchestrationErrorKind.ImagePullFailed
                or OrchestrationErrorKind.ContainerStartupFailed or OrchestrationErrorKind.NotRunning => FaultClass.Permanent,
            _ when exception.IsTransient => FaultClass.Transient,
            _ => exception.InnerException is { } cause ? ClassifyForeign(cause) : FaultClass.Unknown,
        };
    }

    private static FaultClass ClassifyForeign(Exception exception) => exception switch
    {
        HttpRequestException { StatusCode: { } status } => ClassifyStatus((int)status),
        HttpRequestException => FaultClass.Transient,
        SocketException or IOException or TimeoutException or Polly.Timeout.TimeoutRejectedException => FaultClass.Transient,
        OperationCanceledException { InnerException: TimeoutException } => FaultClass.Transient,
        ArgumentException or FormatException or ValidationException or NotSupportedException => FaultClass.Permanent,
        _ when exception.InnerException is { } inner && inner != exception => ClassifyForeign(inner),
        _ => FaultClass.Unknown,
    };
}
