using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.AspNetCore;

/// <summary>
/// Operations on a deployment's rollout: scale, rollback, pause, resume, abort, promote, approve, reject, destroy.
/// Those that start or continue a rollout answer 202 with the status location.
/// </summary>
internal static class ControlEndpoints
{
    public static void Map(RouteGroupBuilder api, ApiRoutes routes)
    {
        var deployment = api.MapGroup("/orchestration/deployment/{id}").WithTags("orchestration");

        deployment.MapPost("/scale", async (string id, HttpContext http, IOrchestrationVm vm, IOptions<OrchestrationApiOptions> options) =>
        {
            var body = new BodyFields(await RequestBody.ReadAsync(http, options.Value).ConfigureAwait(false));
            var replicas = body.Int("replicas", required: true, min: 0, max: 10_000);
            var component = body.String("component_id", maxLength: 63);
            body.EnsureValid();
            await vm.ScaleAsync(id, replicas!.Value, component, http.RequestAborted).ConfigureAwait(false);
            return await DeploymentEndpoints.AcceptedAsync(http, vm, routes, id, revision: null).ConfigureAwait(false);
        })
        .WithName("ScaleDeployment")
        .WithSummary("Changes the replica count of one component (component_id) or of every component; 202.")
        .Accepts<ScaleRequest>("application/json")
        .Produces<OperationAccepted>(StatusCodes.Status202Accepted)
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound);

        deployment.MapPost("/rollback", async (string id, HttpContext http, IOrchestrationVm vm, IOptions<OrchestrationApiOptions> options) =>
        {
            var body = new BodyFields(await RequestBody.ReadAsync(http, options.Value, optional: true).ConfigureAwait(false));
            var to = body.Int("to_revision", min: 1);
            body.EnsureValid();
            var revision = await vm.RollbackAsync(id, to, http.RequestAborted).ConfigureAwait(false);
            return await DeploymentEndpoints.AcceptedAsync(http, vm, routes, id, revision).ConfigureAwait(false);
        })
        .WithName("RollbackDeployment")
        .WithSummary("Rolls out a retained earlier revision again (to_revision, default the one before the serving revision); 202.")
        .Accepts<RollbackRequest>("application/json")
        .Produces<OperationAccepted>(StatusCodes.Status202Accepted)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status409Conflict);

        MapIntervention(deployment, routes, "pause", "PauseRollout", "Pauses the running rollout at the next safe point.", (vm, id, ct) => vm.PauseAsync(id, ct));
        MapIntervention(deployment, routes, "resume", "ResumeRollout", "Resumes a paused rollout where it stopped; 202.", (vm, id, ct) => vm.ResumeAsync(id, ct));
        MapIntervention(deployment, routes, "abort", "AbortRollout", "Aborts the rollout; it is rolled back to the stable revision; 202.", (vm, id, ct) => vm.AbortAsync(id, ct));
        MapIntervention(deployment, routes, "promote", "PromoteRollout", "Ends the pause step the rollout waits at; the rollout continues; 202.", (vm, id, ct) => vm.PromoteAsync(id, ct));

        MapDecision(deployment, routes, "approve", "ApproveGate", "Approves the approval gate the rollout waits at, as the caller; 202.", (vm, id, gate, comment, ct) => vm.ApproveAsync(id, gate, comment, ct));
        MapDecision(deployment, routes, "reject", "RejectGate", "Rejects the approval gate the rollout waits at, as the caller; the rollout is rolled back; 202.", (vm, id, gate, comment, ct) => vm.RejectAsync(id, gate, comment, ct));

        api.MapDelete("/orchestration/deployment/{id}", async (string id, HttpContext http, IOrchestrationVm vm, bool? force) =>
        {
            await vm.DestroyAsync(id, force ?? false, http.RequestAborted).ConfigureAwait(false);
            return ApiJson.Json(await vm.GetStatusAsync(id, http.RequestAborted).ConfigureAwait(false));
        })
        .WithTags("orchestration")
        .WithName("DestroyDeployment")
        .WithSummary("Destroys the deployment (force=true skips the graceful scale-down); answers with its final status.")
        .Produces<DeploymentStatus>()
        .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static void MapIntervention(RouteGroupBuilder group, ApiRoutes routes, string verb, string name, string summary, Func<IOrchestrationVm, string, CancellationToken, Task> act)
    {
        group.MapPost("/" + verb, async (string id, HttpContext http, IOrchestrationVm vm) =>
        {
            await act(vm, id, http.RequestAborted).ConfigureAwait(false);
            return await DeploymentEndpoints.AcceptedAsync(http, vm, routes, id, revision: null).ConfigureAwait(false);
        })
        .WithName(name)
        .WithSummary(summary)
        .Produces<OperationAccepted>(StatusCodes.Status202Accepted)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status409Conflict);
    }

    private static void MapDecision(RouteGroupBuilder group, ApiRoutes routes, string verb, string name, string summary, Func<IOrchestrationVm, string, string, string?, CancellationToken, Task> act)
    {
        group.MapPost("/approvals/{gate}/" + verb, async (string id, string gate, HttpContext http, IOrchestrationVm vm, IOptions<OrchestrationApiOptions> options) =>
        {
            var body = new BodyFields(await RequestBody.ReadAsync(http, options.Value, optional: true).ConfigureAwait(false));
            var comment = body.String("comment", maxLength: 4096);
            body.EnsureValid();
            await act(vm, id, gate, comment, http.RequestAborted).ConfigureAwait(false);
            return await DeploymentEndpoints.AcceptedAsync(http, vm, routes, id, revision: null).ConfigureAwait(false);
        })
        .WithName(name)
        .WithSummary(summary)
        .Accepts<DecisionRequest>("application/json")
        .Produces<OperationAccepted>(StatusCodes.Status202Accepted)
        .ProducesProblem(StatusCodes.Status403Forbidden)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status409Conflict);
    }
}

/// <summary>The body of a scale request (documents the OpenAPI schema; the body is read by <see cref="BodyFields"/>).</summary>
/// <param name="Replicas">The new replica count, 0–10000.</param>
/// <param name="ComponentId">The component, or none for every component.</param>
internal sealed record ScaleRequest(int Replicas, string? ComponentId);

/// <summary>The body of a rollback request.</summary>
/// <param name="ToRevision">The revision to return to; none for the one before the serving revision.</param>
internal sealed record RollbackRequest(int? ToRevision);

/// <summary>The body of an approve or reject request.</summary>
/// <param name="Comment">A comment for the audit trail.</param>
internal sealed record DecisionRequest(string? Comment);
