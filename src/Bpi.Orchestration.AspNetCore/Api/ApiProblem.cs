using System.Globalization;
using Microsoft.AspNetCore.Mvc;

namespace Bpi.Orchestration.AspNetCore;

/// <summary>
/// A request the API refuses before it reaches the orchestrator (malformed body, too large, wrong field types): the
/// status and every problem, written as RFC 9457 problem details by the API's filter.
/// </summary>
internal sealed class ApiProblemException : Exception
{
    public ApiProblemException(int status, string title, IReadOnlyList<string> errors, OrchestrationErrorKind kind = OrchestrationErrorKind.InvalidConfiguration)
        : base(title)
    {
        Status = status;
        Errors = errors;
        Kind = kind;
    }

    public int Status { get; }

    public IReadOnlyList<string> Errors { get; }

    public OrchestrationErrorKind Kind { get; }
}

/// <summary>RFC 9457 problem details for every failure: status from the SDK's error kind, every problem listed, never a stack trace.</summary>
internal static class ApiProblems
{
    /// <summary>The base of every problem type URI; the kind's name follows.</summary>
    public const string TypeBase = "https://bpi-orchestration.dev/problems/";

    public static int StatusOf(OrchestrationErrorKind kind, bool authenticated) => kind switch
    {
        OrchestrationErrorKind.InvalidConfiguration => StatusCodes.Status400BadRequest,
        OrchestrationErrorKind.InsufficientResources => StatusCodes.Status409Conflict,
        OrchestrationErrorKind.SecurityValidationFailed => StatusCodes.Status422UnprocessableEntity,
        OrchestrationErrorKind.NotFound => StatusCodes.Status404NotFound,
        OrchestrationErrorKind.Conflict => StatusCodes.Status409Conflict,
        OrchestrationErrorKind.Timeout => StatusCodes.Status504GatewayTimeout,
        OrchestrationErrorKind.Unauthorized => authenticated ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized,
        OrchestrationErrorKind.RuntimeUnavailable or OrchestrationErrorKind.NotRunning => StatusCodes.Status503ServiceUnavailable,
        OrchestrationErrorKind.DeploymentFailed or OrchestrationErrorKind.NetworkSetupFailed or OrchestrationErrorKind.ContainerStartupFailed => StatusCodes.Status502BadGateway,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static IResult From(OrchestrationException ex, HttpContext context)
    {
        var authenticated = context.User.Identities.Any(i => i.IsAuthenticated);
        var status = StatusOf(ex.Kind, authenticated);
        var errors = ex.Errors.Count > 0 ? ex.Errors : [FirstLine(ex.Message)];
        return Problem(context, status, TitleOf(ex.Kind, status), ex.Message, ex.Kind, errors);
    }

    public static IResult From(ApiProblemException ex, HttpContext context)
        => Problem(context, ex.Status, ex.Message, ex.Message + " " + string.Join(" ", ex.Errors), ex.Kind, ex.Errors);

    /// <summary>An unexpected failure: a fixed sentence and the trace id to find it in the log, nothing of the exception.</summary>
    public static IResult Internal(HttpContext context)
        => Problem(context, StatusCodes.Status500InternalServerError, "Internal error", "The orchestrator failed unexpectedly; the server log has the details under this request's trace id.", OrchestrationErrorKind.Unknown, ["internal error"]);

    public static IResult Problem(HttpContext context, int status, string title, string detail, OrchestrationErrorKind kind, IReadOnlyList<string> errors)
    {
        var problem = new ProblemDetails
        {
            Type = TypeBase + KindName(kind),
            Title = title,
            Status = status,
            Detail = detail,
            Instance = context.Request.Path,
        };
        problem.Extensions["error_kind"] = KindName(kind);
        problem.Extensions["errors"] = errors;
        problem.Extensions["trace_id"] = context.TraceIdentifier;
        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }

        return TypedResults.Problem(problem);
    }

    public static string KindName(OrchestrationErrorKind kind) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(kind.ToString());

    private static string TitleOf(OrchestrationErrorKind kind, int status) => kind switch
    {
        OrchestrationErrorKind.InvalidConfiguration => "The request is invalid",
        OrchestrationErrorKind.InsufficientResources => "Not enough capacity",
        OrchestrationErrorKind.SecurityValidationFailed => "Refused by the security gate",
        OrchestrationErrorKind.NotFound => "Not found",
        OrchestrationErrorKind.Conflict => "Conflict with the deployment's state",
        OrchestrationErrorKind.Unauthorized => status == StatusCodes.Status401Unauthorized ? "Authentication required" : "Forbidden",
        OrchestrationErrorKind.NotRunning => "The orchestrator is not running",
        OrchestrationErrorKind.RuntimeUnavailable => "The runtime is unavailable",
        OrchestrationErrorKind.Timeout => "Timed out",
        _ => string.Create(CultureInfo.InvariantCulture, $"{kind}"),
    };

    private static string FirstLine(string message)
    {
        var end = message.IndexOf('\n', StringComparison.Ordinal);
        return (end < 0 ? message : message[..end]).TrimEnd('\r', ':');
    }
}
