using System.Collections.Concurrent;
using System.Globalization;
using Bpi.Orchestration.Security;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.AspNetCore;

/// <summary>Deploy, read, list and update deployments: <c>/orchestration/…</c> of the seed's API, and what the SDK adds.</summary>
internal static class DeploymentEndpoints
{
    /// <summary>Serializes the If-Match check and the update of one deployment, so two updates holding the same ETag cannot both pass.</summary>
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> UpdateLocks = new(StringComparer.Ordinal);

    public static void Map(RouteGroupBuilder api, ApiRoutes routes)
    {
        var orchestration = api.MapGroup("/orchestration").WithTags("orchestration");

        orchestration.MapPost("/deploy", async (HttpContext http, IOrchestrationVm vm, IOptions<OrchestrationApiOptions> options) =>
        {
            var spec = SpecReader.Read(await RequestBody.ReadAsync(http, options.Value).ConfigureAwait(false), "request body");
            // Deploying and reading the status back are asked for together, so a denial comes before anything changed.
            await vm.AuthorizeAsync([OrchestrationVerbs.Deploy, OrchestrationVerbs.Read], spec, http.RequestAborted).ConfigureAwait(false);
            var id = await vm.DeployAsync(spec, http.RequestAborted).ConfigureAwait(false);
            return await AcceptedAsync(http, vm, routes, id, revision: null).ConfigureAwait(false);
        })
        .WithName("Deploy")
        .WithSummary("Validates, authorizes, security-checks and queues a new deployment; 202 with the status location.")
        .Accepts<object>("application/json")
        .Produces<OperationAccepted>(StatusCodes.Status202Accepted)
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status403Forbidden)
        .ProducesProblem(StatusCodes.Status409Conflict)
        .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        orchestration.MapGet("/deployment/{id}", async (string id, HttpContext http, IOrchestrationVm vm) =>
        {
            var status = await vm.GetStatusAsync(id, http.RequestAborted).ConfigureAwait(false);
            http.Response.Headers.ETag = ETagOf(status);
            return ApiJson.Json(status);
        })
        .WithName("GetDeployment")
        .WithSummary("A deployment's status: state, progress, revisions, per-component instances and traffic weights. Carries an ETag for If-Match on update.")
        .Produces<DeploymentStatus>()
        .ProducesProblem(StatusCodes.Status404NotFound);

        orchestration.MapGet("/deployments", async (HttpContext http, IOrchestrationVm vm, string? state, string? app_id, string? environment) =>
        {
            var query = new DeploymentQuery { AppId = app_id, Environment = environment, States = ParseStates(state) };
            return ApiJson.Json(await vm.ListAsync(query, http.RequestAborted).ConfigureAwait(false));
        })
        .WithName("ListDeployments")
        .WithSummary("Deployments (newest first) with totals by state and resource utilization; filter by state (comma-separated), app_id, environment.")
        .Produces<DeploymentList>();

        orchestration.MapPut("/deployment/{id}", async (string id, HttpContext http, IOrchestrationVm vm, IOptions<OrchestrationApiOptions> options) =>
        {
            var spec = SpecReader.Read(await RequestBody.ReadAsync(http, options.Value).ConfigureAwait(false), "request body");
            var gate = UpdateLocks.GetOrAdd(id, _ => new SemaphoreSlim(1, 1));
            await gate.WaitAsync(http.RequestAborted).ConfigureAwait(false);
            int revision;
            try
            {
                if (http.Request.Headers.IfMatch is { Count: > 0 } ifMatch)
                {
                    var current = await vm.GetStatusAsync(id, http.RequestAborted).ConfigureAwait(false);
                    var etag = ETagOf(current);
                    if (!ifMatch.Any(v => v is not null && (v.Trim() == "*" || v.Split(',').Any(t => t.Trim() == etag))))
                    {
                        http.Response.Headers.ETag = etag;
                        throw new ApiProblemException(
                            StatusCodes.Status412PreconditionFailed,
                            "The deployment changed since it was read.",
                            [$"If-Match: {ifMatch} does not match the deployment's current ETag {etag}; read it again (GET {routes.Deployment(http, id)}), apply your change to that and send it with the new ETag."],
                            OrchestrationErrorKind.Conflict);
                    }
                }

                revision = await vm.UpdateAsync(id, spec, http.RequestAborted).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }

            return await AcceptedAsync(http, vm, routes, id, revision).ConfigureAwait(false);
        })
        .WithName("UpdateDeployment")
        .WithSummary("Rolls out a new revision with the given spec (its name and app id must match). Send If-Match with the ETag of GET to refuse a lost update (412).")
        .Accepts<object>("application/json")
        .Produces<OperationAccepted>(StatusCodes.Status202Accepted)
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status409Conflict)
        .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        orchestration.MapGet("/deployment/{id}/history", async (string id, HttpContext http, IOrchestrationVm vm)
                => ApiJson.Json(await vm.GetRolloutHistoryAsync(id, http.RequestAborted).ConfigureAwait(false)))
            .WithName("GetRolloutHistory")
            .WithSummary("The rollouts of a deployment that ended, oldest first: revision, strategy, who asked, outcome, active and paused time.")
            .Produces<IReadOnlyList<RolloutReport>>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        orchestration.MapGet("/dora", async (HttpContext http, IOrchestrationVm vm, string? app_id, string? environment, double? window_days) =>
        {
            var problems = new List<string>();
            if (string.IsNullOrEmpty(app_id))
            {
                problems.Add("app_id: required (query string).");
            }

            if (string.IsNullOrEmpty(environment))
            {
                problems.Add("environment: required (query string).");
            }

            if (window_days is { } days && (double.IsNaN(days) || days <= 0 || days > 3650))
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"window_days: {days} is outside (0, 3650]."));
            }

            if (problems.Count > 0)
            {
                throw new ApiProblemException(StatusCodes.Status400BadRequest, "The query is invalid.", problems);
            }

            var window = window_days is { } d ? TimeSpan.FromDays(d) : (TimeSpan?)null;
            return ApiJson.Json(await vm.GetDoraAsync(app_id!, environment!, window, http.RequestAborted).ConfigureAwait(false));
        })
        .WithName("GetDora")
        .WithSummary("The four DORA figures (deployment frequency, lead time, change failure rate, time to restore) of an application in an environment.")
        .Produces<DoraReport>()
        .ProducesProblem(StatusCodes.Status400BadRequest);
    }

    /// <summary>202 Accepted with the status location and the stream to follow.</summary>
    public static async Task<IResult> AcceptedAsync(HttpContext http, IOrchestrationVm vm, ApiRoutes routes, string id, int? revision)
    {
        var status = await vm.GetStatusAsync(id, http.RequestAborted).ConfigureAwait(false);
        var location = routes.Deployment(http, id);
        http.Response.Headers.Location = location;
        http.Response.Headers.ETag = ETagOf(status);
        return ApiJson.Json(new OperationAccepted(id, status.State, revision ?? status.TargetRevision, location, routes.Events(http, id)), StatusCodes.Status202Accepted);
    }

    /// <summary>
    /// The deployment's version for If-Match: its stable and target revisions and its state. Any update, rollback, scale
    /// or end of a rollout changes it.
    /// </summary>
    public static string ETagOf(DeploymentStatus status)
        => string.Create(CultureInfo.InvariantCulture, $"\"{status.StableRevision ?? 0}.{status.TargetRevision ?? 0}.{status.State}.{status.Components.Sum(c => c.DesiredReplicas)}\"");

    private static List<DeploymentState> ParseStates(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        var states = new List<DeploymentState>();
        var problems = new List<string>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Enum.TryParse<DeploymentState>(part.Replace("_", "", StringComparison.Ordinal), ignoreCase: true, out var state) && !int.TryParse(part, out _))
            {
                states.Add(state);
            }
            else
            {
                problems.Add($"state: '{part}' is not a state; use one of {string.Join(", ", Enum.GetNames<DeploymentState>().Select(n => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(n)))}.");
            }
        }

        return problems.Count > 0 ? throw new ApiProblemException(StatusCodes.Status400BadRequest, "The query is invalid.", problems) : states;
    }
}

/// <summary>The API's own URLs, under the prefix the host mapped it at.</summary>
internal sealed class ApiRoutes(string prefix)
{
    public string Deployment(HttpContext http, string id) => $"{http.Request.PathBase}{prefix}/orchestration/deployment/{Uri.EscapeDataString(id)}";

    public string Events(HttpContext http, string id) => Deployment(http, id) + "/events";
}
