using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.AspNetCore;

/// <summary>
/// Runs every endpoint of the API as the request's actor (<see cref="ActorMapper"/>) and turns every failure into
/// problem details: the SDK's <see cref="OrchestrationException"/> by its kind, a refused body by its status, anything
/// else as a 500 that says nothing of the exception (it is logged with the trace id).
/// </summary>
internal static class OrchestrationApiFilter
{
    public static async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var options = http.RequestServices.GetRequiredService<IOptions<OrchestrationApiOptions>>().Value;
        using var scope = OrchestrationActor.BeginScope(ActorMapper.Map(http.User, options));
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (OrchestrationException ex)
        {
            return Answer(http, ApiProblems.From(ex, http));
        }
        catch (ApiProblemException ex)
        {
            return Answer(http, ApiProblems.From(ex, http));
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return Results.Empty;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            var logger = http.RequestServices.GetService<ILoggerFactory>()?.CreateLogger("Bpi.Orchestration.AspNetCore");
            if (logger is not null)
            {
                Log.UnexpectedFailure(logger, http.Request.Method, http.Request.Path, http.TraceIdentifier, ex);
            }

            return Answer(http, ApiProblems.Internal(http));
        }
    }

    /// <summary>A stream that already started cannot change its status: the problem is dropped and the response ends.</summary>
    private static IResult Answer(HttpContext http, IResult problem) => http.Response.HasStarted ? Results.Empty : problem;
}

/// <summary>The package's log messages (event ids 6000–6099).</summary>
internal static partial class Log
{
    [LoggerMessage(6000, LogLevel.Error, "{Method} {Path} failed unexpectedly (trace id {TraceId}); the client got a 500 without details.")]
    public static partial void UnexpectedFailure(ILogger logger, string method, string path, string traceId, Exception exception);

    [LoggerMessage(6001, LogLevel.Debug, "An event stream of {Stream} ended: {Reason}.")]
    public static partial void StreamEnded(ILogger logger, string stream, string reason);
}
